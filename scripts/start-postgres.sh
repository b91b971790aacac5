#!/usr/bin/env bash
# Starts the local PostgreSQL 15 cluster "main" for the tests and prints the
# DSN of a role that may create databases, for NORTHSTAR_TEST_POSTGRES.
# The cluster listens on 127.0.0.1 only. Run it as root on Debian 12: it
# installs the postgresql package and creates the cluster when missing.
# Only the DSN goes to standard output; every message goes to standard error.
# Running it again, or on a cluster that is already running, is harmless.
set -euo pipefail

# The DSN is the only thing written to standard output: keep the real one as
# descriptor 3 and send everything else, including the tools' messages, to
# standard error. The server must not inherit descriptor 3, because the
# caller reading the DSN would then wait for the server to exit.
exec 3>&1 1>&2

version=15
cluster=main
role=northstar_test
password=northstar_test # loopback-only test role; the tests drop what they create
conf_dir=/etc/postgresql/$version/$cluster

log() { echo "start-postgres: $*" >&2; }

if [ "$(id -u)" != 0 ]; then
	log "run me as root: I install and start PostgreSQL (or set NORTHSTAR_TEST_POSTGRES to a running server)"
	exit 1
fi

if [ ! -x /usr/lib/postgresql/$version/bin/postgres ] || ! command -v pg_lsclusters >/dev/null 2>&1; then
	log "installing Debian's postgresql"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi

if ! pg_lsclusters --no-header | awk '{print $1, $2}' | grep -qx "$version $cluster"; then
	log "creating cluster $version/$cluster"
	pg_createcluster $version $cluster >/dev/null
fi

# cluster_field N prints column N of the cluster's pg_lsclusters line
# (3 = port, 4 = status).
cluster_field() {
	pg_lsclusters --no-header | awk -v v=$version -v c=$cluster -v n="$1" '$1 == v && $2 == c {print $n}'
}

# Debian's postgresql.conf ends by including conf.d, so this file's
# setting wins over an earlier listen_addresses.
restart=no
listen_conf=$conf_dir/conf.d/northstar-test.conf
listen_line="listen_addresses = '127.0.0.1'"
if ! grep -qxF "$listen_line" "$listen_conf" 2>/dev/null; then
	mkdir -p $conf_dir/conf.d
	echo "$listen_line" >"$listen_conf"
	restart=yes
fi

# The first matching pg_hba.conf line wins, so the test role's line goes first.
hba_line="host all $role 127.0.0.1/32 scram-sha-256"
if ! grep -qxF "$hba_line" $conf_dir/pg_hba.conf; then
	sed -i "1i $hba_line" $conf_dir/pg_hba.conf
	restart=yes
fi

port=$(cluster_field 3)
if [ "$(cluster_field 4)" = online ]; then
	if [ $restart = yes ]; then
		log "restarting cluster $version/$cluster to apply its new settings"
		pg_ctlcluster $version $cluster restart 3>&-
	fi
else
	log "starting cluster $version/$cluster on 127.0.0.1:$port"
	pg_ctlcluster $version $cluster start 3>&-
fi

for _ in $(seq 1 30); do
	if pg_isready -q -h 127.0.0.1 -p "$port"; then
		break
	fi
	sleep 1
done
if ! pg_isready -q -h 127.0.0.1 -p "$port"; then
	log "PostgreSQL is not ready on 127.0.0.1:$port after 30 s; see /var/log/postgresql/postgresql-$version-$cluster.log"
	exit 1
fi

runuser -u postgres -- psql -q -p "$port" -v ON_ERROR_STOP=1 >/dev/null <<SQL
DO \$\$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$role') THEN
		CREATE ROLE $role LOGIN CREATEDB;
	END IF;
END
\$\$;
ALTER ROLE $role LOGIN CREATEDB PASSWORD '$password';
SQL

echo "postgres://$role:$password@127.0.0.1:$port/postgres?sslmode=disable" >&3
