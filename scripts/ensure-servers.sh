#!/usr/bin/env bash
# Start PostgreSQL and RabbitMQ if they are installed here but stopped, and make sure the
# broker accepts work. Every step is bounded in time: a server that cannot be brought
# back makes this script fail within a few minutes with the reason, never hang.
#
# States handled (each seen after an interrupted test or demo): PostgreSQL stopped; the
# broker's node stopped; the node up with its application stopped (`rabbitmqctl
# stop_app`); the node up but not accepting connections (its listener's backlog full,
# e.g. out of file descriptors: connects then hang instead of failing); a memory alarm
# left by a test that lowered `vm_memory_high_watermark` (publishers blocked).
set -uo pipefail

# a TCP connect that gives up after 3 s (a full accept backlog drops SYNs: an unbounded
# connect would wait minutes per try)
port_open() { timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
pg_up() { timeout 5 pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
rabbit_up() { port_open 5672; }
ctl() { timeout "$1" rabbitmqctl -q "${@:2}" >/dev/null 2>&1; }
wait_for() { # wait_for SECONDS CHECK
  local deadline=$((SECONDS + $1))
  while ((SECONDS < deadline)); do "$2" && return 0; sleep 1; done
  "$2"
}

if ! pg_up; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "== starting PostgreSQL"
    timeout 60 pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  wait_for 60 pg_up
fi
pg_up || { echo "PostgreSQL is not reachable on 127.0.0.1:5432" >&2; exit 1; }

start_rabbit_node() {
  echo "== starting RabbitMQ"
  # the broker opens a descriptor per connection and per queue file: the soft limit of
  # 1024 that `su` gives the rabbitmq user is too few for the test suite's and the
  # demo's many services, so the node is started as Debian's wrapper starts it, with
  # the soft limit raised to the hard one
  if [ "$(id -u)" = 0 ] && id rabbitmq >/dev/null 2>&1 && [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]; then
    (cd /var/lib/rabbitmq && timeout 60 su rabbitmq -s /bin/sh -c \
      'ulimit -n "$(ulimit -Hn)"; exec /usr/lib/rabbitmq/bin/rabbitmq-server -detached') \
      >/dev/null 2>&1 || true
  else
    timeout 60 rabbitmq-server -detached >/dev/null 2>&1 || true
  fi
  wait_for 90 rabbit_up
}

if ! rabbit_up && command -v rabbitmqctl >/dev/null 2>&1; then
  if ctl 15 ping; then
    # the node answers: its application is stopped, or it is up but not accepting
    echo "== starting RabbitMQ's application"
    ctl 60 start_app || true
    wait_for 30 rabbit_up
    if ! rabbit_up; then
      echo "== RabbitMQ's node does not accept connections: restarting it"
      ctl 60 stop || true
      start_rabbit_node
    fi
  elif command -v rabbitmq-server >/dev/null 2>&1; then
    start_rabbit_node
  fi
fi
rabbit_up || { echo "RabbitMQ is not reachable on 127.0.0.1:5672" >&2; exit 1; }
if command -v rabbitmqctl >/dev/null 2>&1; then
  ctl 120 await_startup || true
  # a memory alarm left by an interrupted test blocks every publisher: back to the default
  if ! timeout 30 rabbitmq-diagnostics -q check_alarms >/dev/null 2>&1; then
    echo "== RabbitMQ has an alarm raised: memory watermark back to its default (0.4)"
    ctl 30 set_vm_memory_high_watermark 0.4 || true
  fi
fi
echo "== PostgreSQL and RabbitMQ are up"
