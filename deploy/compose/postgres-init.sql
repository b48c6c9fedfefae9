-- Sihha development databases: one role and one database per service.
--
-- The postgres image runs this file (mounted into /docker-entrypoint-initdb.d/)
-- once, when it initialises an empty data volume; to run it again, drop the
-- volume: `docker compose down -v`.
--
-- Each service owns its database and connects as its own role; no other role
-- (bar the superuser) may connect to it, so a service cannot read another's
-- tables. The passwords are for a developer's machine only and match the
-- *_DATABASE_URL values in docker-compose.yml; tests/containers/test_compose_file.py checks
-- that every service's database and role are created here.

CREATE ROLE sihha_queue LOGIN PASSWORD 'sihha_queue-dev';
CREATE DATABASE sihha_queue OWNER sihha_queue ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE sihha_queue FROM PUBLIC;

CREATE ROLE sihha_appointments LOGIN PASSWORD 'sihha_appointments-dev';
CREATE DATABASE sihha_appointments OWNER sihha_appointments ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE sihha_appointments FROM PUBLIC;

CREATE ROLE sihha_records LOGIN PASSWORD 'sihha_records-dev';
CREATE DATABASE sihha_records OWNER sihha_records ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE sihha_records FROM PUBLIC;

CREATE ROLE sihha_emergency LOGIN PASSWORD 'sihha_emergency-dev';
CREATE DATABASE sihha_emergency OWNER sihha_emergency ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE sihha_emergency FROM PUBLIC;

CREATE ROLE sihha_reporting LOGIN PASSWORD 'sihha_reporting-dev';
CREATE DATABASE sihha_reporting OWNER sihha_reporting ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE sihha_reporting FROM PUBLIC;
