"""Pure clinical rules of alsrwe: no database, web, file or network code lives here."""
