#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on $PGHOST:$PGPORT (127.0.0.1:5432)
# and that the role and database berriz exist (password "berriz", allowed to
# create databases so the tests can clone their own):
#   1. a server already answers: use it;
#   2. PostgreSQL is installed but stopped: start its cluster;
#   3. nothing is installed: install Debian's postgresql package, start it.
# Prints every step. Needs root or sudo only for steps 2 and 3.
set -euo pipefail

host=${PGHOST:-127.0.0.1}
port=${PGPORT:-5432}
role=${BERRIZ_PG_ROLE:-berriz}
password=${BERRIZ_PG_PASSWORD:-berriz}
database=${BERRIZ_PG_DATABASE:-berriz}

say() { echo "postgres.sh: $*"; }
die() { echo "postgres.sh: error: $*" >&2; exit 1; }

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"
	elif command -v sudo >/dev/null; then sudo "$@"
	else die "need root (or sudo) to run: $*"; fi
}

as_postgres() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"
	elif command -v sudo >/dev/null; then sudo -u postgres "$@"
	else die "need root (or sudo) to act as the postgres user"; fi
}

answers() {
	if command -v pg_isready >/dev/null; then
		pg_isready -q -h "$host" -p "$port" -t 2
	else
		(exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
	fi
}

wait_answers() {
	for _ in $(seq 1 60); do
		answers && return 0
		sleep 0.5
	done
	return 1
}

start_cluster() {
	local line version name
	line=$(pg_lsclusters --no-header 2>/dev/null | awk -v p="$port" '$3 == p' | head -n 1 || true)
	if [ -z "$line" ]; then
		version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
		say "no cluster found: creating cluster $version/main on port $port"
		as_root pg_createcluster "$version" main --port "$port"
		name=main
	else
		version=$(echo "$line" | awk '{print $1}')
		name=$(echo "$line" | awk '{print $2}')
	fi
	say "starting cluster $version/$name"
	as_root pg_ctlcluster --skip-systemctl-redirect "$version" "$name" start || as_root pg_ctlcluster "$version" "$name" start
}

if answers; then
	say "a server answers on $host:$port"
else
	if ! command -v pg_lsclusters >/dev/null || [ -z "$(ls /usr/lib/postgresql 2>/dev/null)" ]; then
		say "PostgreSQL is not installed: installing Debian's postgresql package"
		"$(dirname "${BASH_SOURCE[0]}")/apt.sh" postgresql
	fi
	start_cluster
	wait_answers || die "PostgreSQL did not answer on $host:$port within 30 s"
	say "PostgreSQL answers on $host:$port"
fi

# Run SQL as a superuser: over TCP when the server trusts us, else as the
# postgres system user over the local socket.
superuser_psql() {
	if PGCONNECT_TIMEOUT=3 psql -X -q -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U postgres -d postgres -w -c "SELECT 1" >/dev/null 2>&1; then
		psql -X -q -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U postgres -d postgres -w "$@"
	else
		as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$port" -d postgres "$@"
	fi
}

if PGPASSWORD=$password PGCONNECT_TIMEOUT=3 psql -X -q -h "$host" -p "$port" -U "$role" -d "$database" -w -c "SELECT 1" >/dev/null 2>&1 &&
	[ "$(PGPASSWORD=$password psql -X -tA -h "$host" -p "$port" -U "$role" -d "$database" -w -c "SELECT rolcreatedb FROM pg_roles WHERE rolname = current_user")" = t ]; then
	say "role $role and database $database are ready"
	exit 0
fi

say "creating role $role (CREATEDB) and database $database"
superuser_psql <<SQL
DO \$\$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$role') THEN
		CREATE ROLE $role LOGIN CREATEDB PASSWORD '$password';
	ELSE
		ALTER ROLE $role LOGIN CREATEDB PASSWORD '$password';
	END IF;
END
\$\$;
SQL
if [ "$(superuser_psql -tA -c "SELECT count(*) FROM pg_database WHERE datname = '$database'")" = 0 ]; then
	superuser_psql -c "CREATE DATABASE $database OWNER $role"
fi
PGPASSWORD=$password psql -X -q -h "$host" -p "$port" -U "$role" -d "$database" -w -c "SELECT 1" >/dev/null ||
	die "role $role cannot log in to $database over TCP; check pg_hba.conf"
say "role $role and database $database are ready"
