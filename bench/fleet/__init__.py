"""The fleet simulation behind bench/load.py: phones as a day brings them (sign-ins over
a shift start, a sync a minute per open app, a burst after each save, phones back from
hours offline with a backlog) against gunicorn on PostgreSQL, with CPU counted across
recycled workers and the database's own backends.

    server.py  database, users, caseloads, gunicorn (one or more, side by side)
    cpu.py     CPU of the web servers (live workers + reaped ones) and of our backends
    phone.py   one phone: its tokens, cursor, outbox, and the requests it makes
    day.py     the day's schedule, run by a pool of threads against the clock
    report.py  latencies per kind, CPU per request, exactly-once check, the summary
"""
