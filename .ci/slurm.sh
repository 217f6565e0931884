#!/usr/bin/env bash
# A single-node SLURM cluster on this machine, for `ablate launch slurm` and its tests
# (tests/test_slurm.py, tests/test_readme_slurm.py). Idempotent: when `sinfo` and `sacct`
# already answer, it does nothing. Otherwise it installs Debian's packages if missing
# (apt-get; root), writes the configs, and starts the daemons without systemd, each in its
# own session (setsid), so that they outlive this script:
#   munged, mariadbd (accounting database), slurmdbd (sacct), slurmctld -D -i, slurmd -D.
# Every start is fresh: a new controller state folder makes job ids restart at 1, so the
# old accounting rows are dropped with it (else sacct mixes old and new jobs of one id).
# One node of $(nproc) CPUs in one partition, `cpu`. Needs root (or sudo, which it then uses).
set -euo pipefail

ROOT=${ABLATE_SLURM_ROOT:-/var/tmp/ablate-slurm}  # state, spool, logs, pid files
CONF_DIR=/etc/slurm                               # where sinfo, sbatch... look by default
CLUSTER=ablate
PARTITION=cpu
NODE=$(hostname -s)
ACCT_DB=slurm_acct_db
PKGS=(slurmctld slurmd slurm-client munge slurmdbd mariadb-server)

say() { echo "slurm.sh: $*"; }
die() { echo "slurm.sh: ERROR: $*" >&2; exit 1; }

up() {  # the controller answers and accounting answers
    timeout 10 sinfo -h -o %T >/dev/null 2>&1 && timeout 10 sacct -n -X -S now >/dev/null 2>&1
}

if command -v sinfo >/dev/null 2>&1 && up && timeout 10 sinfo -h -o %T | grep -qE '^(idle|mixed|allocated)'; then
    say "SLURM is up: $(sinfo -h -o '%P %D node(s) %T' | tr '\n' ' ')"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then  # the daemons run as root here: start them through sudo
    command -v sudo >/dev/null 2>&1 || die "need root (or sudo) to install and start SLURM"
    exec sudo -n env "PATH=$PATH" ABLATE_SLURM_ROOT="$ROOT" bash "$0" "$@"
fi

missing=()
for bin in slurmctld slurmd sbatch munged slurmdbd mariadbd; do
    command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] || missing+=("$bin")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "missing ${missing[*]}: installing ${PKGS[*]}"
    command -v apt-get >/dev/null 2>&1 || die "no apt-get here; install ${PKGS[*]} yourself"
    export DEBIAN_FRONTEND=noninteractive
    if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${PKGS[@]}"; } >"/tmp/slurm-apt.log" 2>&1; then
        tail -20 /tmp/slurm-apt.log >&2
        die "apt-get install ${PKGS[*]} failed (no package index access?); log: /tmp/slurm-apt.log"
    fi
fi
export PATH="$PATH:/usr/sbin:/sbin"

# --- stop what an earlier start left running (only the daemons of our own pid files)
stop_pidfile() {
    local f=$1 pid
    [ -f "$f" ] || return 0
    pid=$(cat "$f" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
}
for d in slurmd slurmctld slurmdbd; do stop_pidfile "$ROOT/run/$d.pid"; done

mkdir -p "$ROOT"/{run,log,spool}
rm -rf "$ROOT/state" && mkdir -p "$ROOT/state"  # fresh state: job ids start at 1 again

# --- munge: the credentials every SLURM daemon and client checks
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge
chmod 0755 /run/munge
if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
fi
if ! munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
    setsid runuser -u munge -- munged --force </dev/null >"$ROOT/log/munged.out" 2>&1 &
    for _ in $(seq 100); do munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
    munge -n </dev/null | unmunge >/dev/null 2>&1 || die "munged did not start; see $ROOT/log/munged.out and /var/log/munge/munged.log"
fi

# --- MariaDB: slurmdbd's accounting database; root connects through the unix socket
mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
if ! mariadb -u root -e 'SELECT 1' >/dev/null 2>&1; then
    [ -d /var/lib/mysql/mysql ] || mariadb-install-db --user=mysql --datadir=/var/lib/mysql >"$ROOT/log/mariadb-install.out" 2>&1
    setsid mariadbd --user=mysql --datadir=/var/lib/mysql --socket=/run/mysqld/mysqld.sock \
        --bind-address=127.0.0.1 --skip-name-resolve </dev/null >"$ROOT/log/mariadbd.out" 2>&1 &
    for _ in $(seq 300); do mariadb -u root -e 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.1; done
    mariadb -u root -e 'SELECT 1' >/dev/null 2>&1 || { tail -20 "$ROOT/log/mariadbd.out" >&2; die "mariadbd did not start"; }
fi
mariadb -u root -e "DROP DATABASE IF EXISTS $ACCT_DB"  # the old rows of job ids that restart at 1

# --- configs
mem_mb=$(awk '/^MemTotal:/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
mkdir -p "$CONF_DIR"
cat >"$CONF_DIR/slurm.conf" <<EOF
# written by ablate's .ci/slurm.sh: a single-node cluster for tests
ClusterName=$CLUSTER
SlurmctldHost=$NODE(127.0.0.1)  # by address: the name need not resolve here
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$ROOT/state
SlurmdSpoolDir=$ROOT/spool
SlurmctldPidFile=$ROOT/run/slurmctld.pid
SlurmdPidFile=$ROOT/run/slurmd.pid
SlurmctldLogFile=$ROOT/log/slurmctld.log
SlurmdLogFile=$ROOT/log/slurmd.log
# no cgroups here (and no systemd): plain process tracking, no task binding
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
# sacct through slurmdbd
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
JobCompType=jobcomp/none
# react within seconds, not the defaults' minute: tests wait on these
SchedulerParameters=sched_interval=2
MinJobAge=300
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=$mem_mb State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
cat >"$CONF_DIR/slurmdbd.conf" <<EOF
# written by ablate's .ci/slurm.sh
AuthType=auth/munge
DbdHost=localhost
SlurmUser=root
PidFile=$ROOT/run/slurmdbd.pid
LogFile=$ROOT/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=root
StorageLoc=$ACCT_DB
EOF
chmod 0600 "$CONF_DIR/slurmdbd.conf"  # slurmdbd refuses a config others can read
: >"$CONF_DIR/cgroup.conf"

# --- the SLURM daemons, in the foreground of their own sessions
setsid slurmdbd -D </dev/null >"$ROOT/log/slurmdbd.out" 2>&1 &
for _ in $(seq 300); do sacctmgr -n list cluster >/dev/null 2>&1 && break; sleep 0.1; done
sacctmgr -n list cluster >/dev/null 2>&1 || { tail -20 "$ROOT/log/slurmdbd.log" >&2; die "slurmdbd did not answer"; }
sacctmgr -i -Q add cluster "$CLUSTER" >/dev/null 2>&1 || true  # registered before slurmctld asks

setsid slurmctld -D -i </dev/null >"$ROOT/log/slurmctld.out" 2>&1 &
setsid slurmd -D -N "$NODE" </dev/null >"$ROOT/log/slurmd.out" 2>&1 &
for _ in $(seq 300); do
    up && sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)' && break
    sleep 0.2
done
if ! up || ! sinfo -h -o %T | grep -qE '^(idle|mixed|allocated)'; then
    sinfo >&2 || true
    tail -20 "$ROOT/log/slurmctld.log" "$ROOT/log/slurmd.log" >&2 || true
    die "SLURM did not come up within 60 s; logs in $ROOT/log"
fi
say "SLURM is up: $(sinfo -h -o '%P %D node(s) %c CPUs %T' | tr '\n' ' ')(logs in $ROOT/log)"
