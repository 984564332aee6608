#!/usr/bin/env bash
# A throw-away single-node Slurm on localhost, for the test suite (test/scale/slurm.test.ts) and for trying
# docs/scale.md's array script by hand. Everything (config, munge key and socket, state, logs, pid files) lives
# in DIR; nothing under /etc is touched and no system service is started.
#
#   scripts/slurm-local.sh start DIR   start munged, slurmctld and slurmd; wait for the node to be idle;
#                                      prints `export SLURM_CONF=DIR/slurm.conf` (what sbatch/squeue need)
#   scripts/slurm-local.sh stop DIR    stop them again (by the pids they wrote in DIR)
#
# Needs: Debian's slurmctld, slurmd, slurm-client and munge packages, and root (slurmd runs jobs as their
# submitter, which only root can do). Exit status 2 with a one-line reason when one is missing.
set -euo pipefail
cmd="${1:-}"
dir="${2:-}"
if [ -z "$cmd" ] || [ -z "$dir" ]; then
  echo "usage: $0 start|stop DIR" >&2
  exit 64
fi

stop() {
  # Jobs first (only this cluster's: SLURM_CONF names its controller), so no job step outlives the daemons.
  if [ -f "$dir/slurm.conf" ] && [ -f "$dir/slurmctld.pid" ]; then
    SLURM_CONF="$dir/slurm.conf" scancel --quiet --user="$(id -un)" 2>/dev/null || true
    sleep 1
  fi
  for name in slurmd slurmctld munged; do
    pidfile="$dir/$name.pid"
    [ -f "$pidfile" ] || continue
    pid="$(cat "$pidfile" 2>/dev/null || true)"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  done
}

if [ "$cmd" = stop ]; then
  stop
  exit 0
fi
[ "$cmd" = start ] || { echo "unknown command $cmd" >&2; exit 64; }

for b in munged slurmctld slurmd sbatch sinfo; do
  command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] || { echo "not installed: $b (apt-get install slurmctld slurmd slurm-client munge)"; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "not root: slurmd must run as root to start jobs"; exit 2; }
export PATH="$PATH:/usr/sbin"

dir="$(mkdir -p "$dir" && cd "$dir" && pwd)"
mkdir -p "$dir/state" "$dir/spool" "$dir/log"
host="$(hostname -s)"
# Ports away from the default 6817/6818, so a real Slurm on the machine is left alone.
base="${SLURM_LOCAL_PORT:-$((20000 + RANDOM % 20000))}"
cpus="$(nproc)"
mem="$(awk '/MemTotal/ { print int($2 / 1024 * 0.8) }' /proc/meminfo)"

# munge: a private key and socket.
if [ ! -f "$dir/munge.key" ]; then
  if command -v mungekey >/dev/null 2>&1 || [ -x /usr/sbin/mungekey ]; then mungekey --create --keyfile="$dir/munge.key" >/dev/null 2>&1
  else dd if=/dev/urandom of="$dir/munge.key" bs=1024 count=1 status=none; fi
  chmod 600 "$dir/munge.key"
fi
munged --force --key-file="$dir/munge.key" --socket="$dir/munge.sock" --pid-file="$dir/munged.pid" \
  --log-file="$dir/log/munged.log" --seed-file="$dir/munge.seed" 2>"$dir/log/munged.err" || {
  echo "munged did not start: $(tail -n 3 "$dir/log/munged.err" "$dir/log/munged.log" 2>/dev/null | tr '\n' ' ')"; stop; exit 2; }

cat >"$dir/slurm.conf" <<EOF
ClusterName=spoofscan-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$base
SlurmdPort=$((base + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge.sock
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
MinJobAge=300
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
export SLURM_CONF="$dir/slurm.conf"

slurmctld -f "$SLURM_CONF" -i 2>"$dir/log/slurmctld.err" || { echo "slurmctld did not start: $(tail -n 3 "$dir/log/slurmctld.err" "$dir/log/slurmctld.log" 2>/dev/null | tr '\n' ' ')"; stop; exit 2; }
slurmd -f "$SLURM_CONF" -N "$host" 2>"$dir/log/slurmd.err" || { echo "slurmd did not start: $(tail -n 3 "$dir/log/slurmd.err" "$dir/log/slurmd.log" 2>/dev/null | tr '\n' ' ')"; stop; exit 2; }

for _ in $(seq 1 60); do
  state="$(sinfo -h -N -o '%T' 2>/dev/null | head -n 1 || true)"
  case "$state" in
    idle*|mixed*|allocated*) echo "export SLURM_CONF=$SLURM_CONF"; exit 0 ;;
  esac
  sleep 0.5
done
echo "the node did not come up (state: ${state:-none}): $(tail -n 5 "$dir/log/slurmd.log" "$dir/log/slurmctld.log" 2>/dev/null | tr '\n' ' ')"
stop
exit 2
