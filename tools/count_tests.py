#!/usr/bin/env python3
"""Count individual test cases across meson test logs.

usage: count_tests.py LABEL=TESTLOG.json [LABEL=TESTLOG.json ...]

Reads the meson test log (meson-logs/testlog[-SETUP].json) of each run and counts the cases
inside every meson test: cmocka's per-test lines, pytest's summary and
JUnit's summary. A meson test whose output has no recognisable cases counts
as one case with the meson result. Prints a line per suite and run, then the
total as `N passed, N failed` (the last line). Exits 1 when anything failed.
"""
import json
import re
import sys

CMOCKA_RUN = re.compile(r'^\[ RUN      \] (.+)$', re.M)
CMOCKA_DONE = re.compile(r'^\[ +(OK|FAILED|SKIPPED|ERROR) +\] (.+)$', re.M)
PYTEST = re.compile(r'(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)')
PYTEST_LINE = re.compile(r'^=*\s*(\d+ (passed|failed|errors?|skipped|deselected).*) in [\d.]+s', re.M)
JUNIT_OK = re.compile(r'^OK \((\d+) tests?\)', re.M)
JUNIT_FAIL = re.compile(r'^Tests run: (\d+),\s+Failures: (\d+)', re.M)


def count_cmocka(text):
    started = CMOCKA_RUN.findall(text)
    if not started:
        return None
    outcome = {}
    for kind, name in CMOCKA_DONE.findall(text):
        if name in started and name not in outcome:
            outcome[name] = kind
    passed = sum(1 for n in started if outcome.get(n) == 'OK')
    # A test that started and never finished (a crash) is a failure.
    failed = sum(1 for n in started if outcome.get(n) in (None, 'FAILED', 'ERROR'))
    return passed, failed


def count_pytest(text):
    lines = PYTEST_LINE.findall(text)
    if not lines:
        return None
    summary = lines[-1][0]
    passed = failed = 0
    for n, kind in PYTEST.findall(summary):
        if kind in ('passed', 'xfailed'):
            passed += int(n)
        elif kind in ('failed', 'error', 'errors', 'xpassed'):
            failed += int(n)
    return passed, failed


def count_junit(text):
    ok = JUNIT_OK.findall(text)
    if ok:
        return int(ok[-1]), 0
    bad = JUNIT_FAIL.findall(text)
    if bad:
        run, failures = map(int, bad[-1])
        return run - failures, failures
    return None


def count_test(entry):
    text = (entry.get('stdout') or '') + '\n' + (entry.get('stderr') or '')
    counted = count_cmocka(text) or count_pytest(text) or count_junit(text)
    ok = entry['result'] in ('OK', 'EXPECTEDFAIL')
    if counted is None:
        return (1, 0) if ok else (0, 1)
    passed, failed = counted
    if not ok and failed == 0:
        failed = 1  # the runner failed after its cases (a leak report, a crash at exit)
    return passed, failed


def main():
    total_p = total_f = 0
    for arg in sys.argv[1:]:
        label, _, log = arg.partition('=')
        per_suite = {}
        try:
            with open(log, encoding='utf-8') as f:
                entries = [json.loads(line) for line in f if line.strip()]
        except OSError as e:
            print('%s: no test log (%s)' % (label, e))
            total_f += 1
            continue
        for entry in entries:
            suite = entry['name'].split(':', 1)[-1].split(' / ')[0].strip()
            p, fl = count_test(entry)
            sp, sf = per_suite.get(suite, (0, 0))
            per_suite[suite] = (sp + p, sf + fl)
            if fl:
                print('FAILED: %s %s' % (label, entry['name']))
        for suite, (p, fl) in sorted(per_suite.items()):
            print('%-10s %-14s %5d passed, %d failed' % (label, suite, p, fl))
            total_p += p
            total_f += fl
    print('%d passed, %d failed' % (total_p, total_f))
    return 1 if total_f else 0


if __name__ == '__main__':
    sys.exit(main())
