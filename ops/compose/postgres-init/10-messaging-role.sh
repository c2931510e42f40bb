#!/bin/sh
# Run once by the postgres image when it initialises an empty data folder (/docker-entrypoint-initdb.d/), connected as
# its superuser POSTGRES_USER. Creates the role the messaging instances log in as: it owns the POSTGRES_DB database (so
# the server's migrations create tables it owns, and its VACUUM of them works) and nothing else, and is not a superuser
# and cannot create roles or databases (SECURITY.md, "On PostgreSQL"). MESSAGING_DB_USER and MESSAGING_DB_PASSWORD come
# from compose.yaml (the password from the messaging_db_password secret). The password travels as a psql variable, so
# no quoting in it can change the statement.
set -eu
: "${POSTGRES_USER:?}" "${POSTGRES_DB:?}" "${MESSAGING_DB_USER:?}" "${MESSAGING_DB_PASSWORD:?}"

psql --no-psqlrc -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v role="$MESSAGING_DB_USER" -v password="$MESSAGING_DB_PASSWORD" -v database="$POSTGRES_DB" <<'SQL'
CREATE ROLE :"role" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'password';
ALTER DATABASE :"database" OWNER TO :"role";
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
SQL
