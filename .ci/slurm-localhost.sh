#!/usr/bin/env bash
# A single-node Slurm (Debian's slurmctld, slurmd, munge) and an SSH server on localhost, for the tests of
# engine/cluster.py (tests/engine/test_cluster_slurm.py). CI runs as root with no systemd: the daemons are
# started directly. Idempotent: a second call finds them running.
set -euo pipefail
for tool in slurmctld munged sshd rsync; do
    command -v "$tool" >/dev/null || PATH="$PATH:/usr/sbin" command -v "$tool" >/dev/null || missing=1
done
[ -z "${missing:-}" ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge openssh-server rsync >/dev/null
node=$(hostname -s)
cpus=$(nproc)
memory=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2 ))
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge /run/sshd
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=localhost
SlurmctldHost=$node
SlurmUser=root
AuthType=auth/munge
# A requeued job waits out its credentials' lifetime (120 s by default) before it may start again, then for
# the next scheduling pass (every 60 s by default); the tests requeue twice, and a one-node test cluster
# can live with 20 s and passes every 5 s.
AuthInfo=cred_expire=20
SchedulerParameters=sched_interval=5,bf_interval=5
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ReturnToService=2
KillWait=30
JobRequeue=1
NodeName=$node CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
[ -s /etc/munge/munge.key ] || { mkdir -p /etc/munge; dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null; }
chown -R munge:munge /etc/munge /run/munge 2>/dev/null || true
chmod 400 /etc/munge/munge.key
pgrep -x munged >/dev/null || su -s /bin/sh munge -c /usr/sbin/munged || /usr/sbin/munged --force
pgrep -x slurmctld >/dev/null || slurmctld
pgrep -x slurmd >/dev/null || slurmd
# ssh to localhost with a key made for the tests
[ -s /root/.ssh/id_ed25519 ] || { mkdir -p /root/.ssh; ssh-keygen -q -t ed25519 -N "" -f /root/.ssh/id_ed25519; }
grep -qf /root/.ssh/id_ed25519.pub /root/.ssh/authorized_keys 2>/dev/null || cat /root/.ssh/id_ed25519.pub >> /root/.ssh/authorized_keys
chmod 700 /root/.ssh; chmod 600 /root/.ssh/authorized_keys
[ -s /etc/ssh/ssh_host_ed25519_key ] || ssh-keygen -A
pgrep -x sshd >/dev/null || /usr/sbin/sshd -p 2222 -o PermitRootLogin=prohibit-password
for _ in $(seq 30); do sinfo -h -o %T 2>/dev/null | grep -q idle && break; sleep 1; done
scontrol update NodeName=$node State=RESUME 2>/dev/null || true
sinfo
