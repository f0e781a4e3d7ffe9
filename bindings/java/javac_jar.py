#!/usr/bin/env python3
"""Compile Java sources with javac in one invocation and pack them into a jar.

Meson's jar() compiles file by file and cannot name outputs in packages
(no '/' in output names); SWIG writes a flat directory of .java files.
Usage:
  javac_jar.py --javac JAVAC --jar JAR [--classpath CP] [--generated-dir DIR]
               --output OUT.jar SOURCE.java...

With --generated-dir, every *.java file in DIR must be among the sources:
when a change to crm.i makes SWIG write a new class, the build stops here
and names it, instead of failing later with a missing class.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument('--javac', required=True)
    ap.add_argument('--jar', required=True)
    ap.add_argument('--classpath', default='')
    ap.add_argument('--generated-dir')
    ap.add_argument('--release', default='17')
    ap.add_argument('--output', required=True)
    ap.add_argument('sources', nargs='+')
    args = ap.parse_args()

    sources = [os.path.abspath(s) for s in args.sources]
    if args.generated_dir:
        gen = os.path.abspath(args.generated_dir)
        listed = {os.path.basename(s) for s in sources if os.path.dirname(s) == gen}
        found = {f for f in os.listdir(gen) if f.endswith('.java')}
        missing = sorted(found - listed)
        if missing:
            sys.stderr.write(
                'javac_jar.py: SWIG generated Java files that bindings/java/meson.build '
                'does not list: %s\n' % ', '.join(missing))
            return 1

    out = os.path.abspath(args.output)
    with tempfile.TemporaryDirectory(prefix='javac-', dir=os.path.dirname(out)) as tmp:
        classes = os.path.join(tmp, 'classes')
        os.mkdir(classes)
        cmd = [args.javac, '-encoding', 'UTF-8', '--release', args.release,
               '-Xlint:all,-options,-try', '-Werror', '-d', classes]
        if args.classpath:
            cmd += ['-cp', args.classpath]
        rc = subprocess.call(cmd + sources)
        if rc != 0:
            return rc
        tmp_jar = os.path.join(tmp, 'out.jar')
        rc = subprocess.call([args.jar, '--create', '--file', tmp_jar, '-C', classes, '.'])
        if rc != 0:
            return rc
        shutil.move(tmp_jar, out)
    return 0


if __name__ == '__main__':
    sys.exit(main())
