# lme4 reference for benchmarks/bench_lmm_compare.py: one size, one fresh R process.
#
#   /usr/bin/time -v Rscript benchmarks/lmm_lme4.R /tmp/alsrwe_lmm_bench/lmm_g100000_s1.csv
#   Rscript benchmarks/lmm_lme4.R <csv> tight   # optimiser run to ~1e-12 (agreement check only)
#
# Reads the CSV written by `bench_lmm.py data` (17 significant digits, so the same float64
# values as the Parquet file the Python contenders read), times lmer() alone with lme4's
# defaults (REML, nloptwrap/BOBYQA), and prints one JSON line. Peak memory comes from
# /usr/bin/time -v ("Maximum resident set size"), measured by the caller.
suppressPackageStartupMessages({
  library(data.table)
  library(lme4)
})

args <- commandArgs(trailingOnly = TRUE)
t0 <- proc.time()[["elapsed"]]
d <- fread(args[[1]])
load_s <- proc.time()[["elapsed"]] - t0

tight <- length(args) > 1 && args[[2]] == "tight"
control <- if (tight) {
  lmerControl(optCtrl = list(ftol_abs = 1e-14, ftol_rel = 1e-15, xtol_abs = 1e-12,
                             xtol_rel = 1e-12, maxeval = 1e5))
} else {
  lmerControl()  # the defaults
}
st <- system.time(fit <- lmer(y ~ t + t_post + (1 + t | g), data = d, REML = TRUE,
                              control = control))
fit_s <- st[["elapsed"]]
cpu_s <- st[["user.self"]] + st[["sys.self"]]

vc <- as.data.frame(VarCorr(fit))
num <- function(x) sprintf("%.17g", x)
fe <- fixef(fit)
msgs <- fit@optinfo$conv$lme4$messages
json <- paste0(
  "{",
  "\"contender\": \"", if (tight) "lme4-tight" else "lme4", "\", \"groups\": ", length(unique(d$g)), ", ",
  "\"load_seconds\": ", num(load_s), ", \"fit_seconds\": ", num(fit_s), ", ",
  "\"total_seconds\": ", num(fit_s), ", \"total_cpu_seconds\": ", num(cpu_s), ", ",
  "\"estimates\": {\"fixed\": {",
  "\"Intercept\": ", num(fe[["(Intercept)"]]), ", \"t\": ", num(fe[["t"]]), ", ",
  "\"t_post\": ", num(fe[["t_post"]]), "}, ",
  "\"sd_intercept\": ", num(vc$sdcor[1]), ", \"sd_slope\": ", num(vc$sdcor[2]), ", ",
  "\"corr\": ", num(vc$sdcor[3]), ", \"sigma\": ", num(sigma(fit)), ", ",
  "\"criterion\": ", num(REMLcrit(fit)), ", ",
  "\"theta\": [", paste(num(getME(fit, "theta")), collapse = ", "), "], ",
  "\"converged\": ", if (length(msgs) == 0) "true" else "false", "}, ",
  "\"versions\": {\"lme4\": \"", as.character(packageVersion("lme4")), "\", ",
  "\"Matrix\": \"", as.character(packageVersion("Matrix")), "\", ",
  "\"R\": \"", R.version$major, ".", R.version$minor, "\"}",
  "}"
)
cat(json, "\n")
