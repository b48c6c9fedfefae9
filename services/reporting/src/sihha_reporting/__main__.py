"""`python -m sihha_reporting [command]`: the reporting service and its operator commands.

python -m sihha_reporting                      serve (REPORTING_* variables)
python -m sihha_reporting declare-inboxes      declare the inbox (queue, bindings, dead-letter
                                               path), apply its policy where it may, exit (run
                                               before any producer starts; broker only)
python -m sihha_reporting rebuild              rebuild every projection from the archive
python -m sihha_reporting reconcile --from D --to D
                                               compare with the producers' own counts
                                               (exit 1 if any difference)
python -m sihha_reporting replay-dead-letters [--consumer reporting] [--limit N]
                                               move dead letters back into the inbox
python -m sihha_reporting report wilaya|ministry --period P [--format F] [--lang fr|ar] [--out FILE]
                                               generate (and publish, for a closed period) a report
"""

from sihha_reporting.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
