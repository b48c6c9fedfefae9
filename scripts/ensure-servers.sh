#!/usr/bin/env bash
# Start PostgreSQL and RabbitMQ if they are installed here but stopped.
set -uo pipefail

pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
rabbit_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }

if ! pg_up; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "== starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  for _ in $(seq 1 60); do pg_up && break; sleep 1; done
fi
pg_up || { echo "PostgreSQL is not reachable on 127.0.0.1:5432" >&2; exit 1; }

if ! rabbit_up; then
  if command -v rabbitmq-server >/dev/null 2>&1; then
    echo "== starting RabbitMQ"
    rabbitmq-server -detached || true
  fi
  for _ in $(seq 1 90); do rabbit_up && break; sleep 1; done
fi
# a broker stopped with `rabbitmqctl stop_app` keeps its node: start the app
if ! rabbit_up && command -v rabbitmqctl >/dev/null 2>&1; then
  rabbitmqctl start_app >/dev/null 2>&1 || true
  for _ in $(seq 1 60); do rabbit_up && break; sleep 1; done
fi
rabbit_up || { echo "RabbitMQ is not reachable on 127.0.0.1:5672" >&2; exit 1; }
command -v rabbitmqctl >/dev/null 2>&1 && rabbitmqctl await_startup >/dev/null 2>&1 || true
echo "== PostgreSQL and RabbitMQ are up"
