#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Check Documentation/netlink/specs/mbatch.yaml against the uAPI header.

Every constant, enum, flag, attribute, command and multicast group of the
YAML spec must be in include/uapi/linux/mbatch.h with the same C name and
value, and every define and enum entry of the header must come from the
spec. Naming follows the YNL rules for genetlink-legacy specs:

  const        <family>-<name>                MBATCH_MAX_IO_LEN
  enum         name-prefix (default <family>-<name>-) + entry, from
               value-start; render-max adds __<PREFIX>MAX and <PREFIX>MAX
  flags        same prefix, entry i is 1 << i; the header may add
               <PREFIX>ALL, which must be the mask of every entry
  attributes   name-prefix + name, ids from 1 (pad is 1); the header's
               <PREFIX>UNSPEC must be 0; attr-cnt-name / attr-max-name
  commands     operations name-prefix + name, <PREFIX>UNSPEC = 0 and
               __<PREFIX>MAX / <PREFIX>MAX
  family       c-family-name = "<name>", c-version-name = version
  mcast        <FAMILY>_MCGRP_<NAME> = "<name>"

Also checks the spec's internal references (attribute sets, enums, groups)
and attribute types: a flag carries no value, so it takes no checks and no
enum. An event with a mcgrp is multicast on that group; one without is
unicast (sent to one socket) and must say so in its doc.
Only the standard library and python3-yaml. Exit status: 0 when they match,
1 on any mismatch (each printed), 2 on a usage or parse error.
"""

import argparse
import copy
import os
import errno
import re
import sys

try:
    import yaml
except ImportError:
    sys.stderr.write("spec-check: needs python3-yaml (tools/deps.sh)\n")
    sys.exit(2)


def c_upper(name):
    return name.upper().replace('-', '_')


def c_lower(name):
    return name.lower().replace('-', '_')


# ---- header ----------------------------------------------------------------

NUM_RE = re.compile(r'\b(0[xX][0-9a-fA-F]+|[0-9]+)[uUlL]*\b')
IDENT_RE = re.compile(r'\b[A-Za-z_][A-Za-z0-9_]*\b')


class Header:
    def __init__(self, path, text=None):
        self.path = path
        self.defines = {}      # name -> raw text
        self.enums = {}        # enum name -> [(entry, raw or None)]
        self.values = {}       # name -> evaluated value (int or str)
        self.guard = None
        self._parse(open(path).read() if text is None else text)

    def _parse(self, text):
        text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)
        text = re.sub(r'//[^\n]*', ' ', text)
        text = text.replace('\\\n', ' ')
        for m in re.finditer(r'^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)(.*)$',
                             text, flags=re.M):
            name, raw = m.group(1), m.group(2).strip()
            if not raw:
                self.guard = name
                continue
            self.defines[name] = raw
        for m in re.finditer(r'\benum\s+(\w+)\s*\{(.*?)\}\s*;', text,
                             flags=re.S):
            entries = []
            for item in m.group(2).split(','):
                item = item.strip()
                if not item:
                    continue
                if '=' in item:
                    n, v = item.split('=', 1)
                    entries.append((n.strip(), v.strip()))
                else:
                    entries.append((item, None))
            self.enums[m.group(1)] = entries
        for name, entries in self.enums.items():
            nxt = 0
            for n, raw in entries:
                val = self.eval(raw) if raw is not None else nxt
                self.values[n] = val
                nxt = val + 1
        for name in self.defines:
            self.values[name] = self.eval(self.defines[name])

    def eval(self, raw, depth=0):
        raw = raw.strip()
        if raw.startswith('"') and raw.endswith('"'):
            return raw[1:-1]
        if depth > 20:
            raise ValueError('recursive define: ' + raw)

        def ident(m):
            name = m.group(0)
            if name in self.values:
                return '(%d)' % self.values[name]
            if name in self.defines:
                return '(%d)' % self.eval(self.defines[name], depth + 1)
            for entries in self.enums.values():
                for n, _ in entries:
                    if n == name and name in self.values:
                        return '(%d)' % self.values[name]
            # <linux/errno.h> names (asm-generic numbering)
            if name.startswith('E') and hasattr(errno, name):
                return '(%d)' % getattr(errno, name)
            raise ValueError('unknown name %s in "%s"' % (name, raw))

        # <linux/const.h> helpers
        raw = re.sub(r'\b_BITU?LL?\s*\(', '(1 << ', raw)
        raw = re.sub(r'\b_U?LL?\s*\(', '(', raw)
        expr = NUM_RE.sub(lambda m: str(int(m.group(1), 0)), raw)
        expr = IDENT_RE.sub(ident, expr)
        if not re.fullmatch(r'[0-9()<>|&+\-*/~^\s]*', expr):
            raise ValueError('cannot evaluate "%s"' % raw)
        return eval(expr.replace('/', '//'), {'__builtins__': {}}, {})


# ---- spec --------------------------------------------------------------------

class Checker:
    def __init__(self, spec, header):
        self.spec = spec
        self.h = header
        self.errors = []
        self.explained = set()      # header names accounted for
        self.family = spec['name']

    def err(self, msg):
        self.errors.append(msg)

    def expect(self, cname, value, what):
        """The header defines cname (define or enum entry) with value."""
        self.explained.add(cname)
        if cname not in self.h.values:
            self.err('%s: %s missing from the header (spec value %r)'
                     % (what, cname, value))
            return
        got = self.h.values[cname]
        if got != value:
            self.err('%s: %s is %r in the header, %r in the spec'
                     % (what, cname, got, value))

    def expect_enum(self, cname, entries, what):
        """The header has enum cname with exactly these (name, value)."""
        if cname not in self.h.enums:
            self.err('%s: enum %s missing from the header' % (what, cname))
            for n, v in entries:
                self.explained.add(n)
            return
        self.explained.add('enum ' + cname)
        hnames = [n for n, _ in self.h.enums[cname]]
        want = [n for n, _ in entries]
        for n, v in entries:
            if n not in hnames:
                self.err('%s: %s missing from enum %s' % (what, n, cname))
                self.explained.add(n)
            else:
                self.expect(n, v, what)
        for n in hnames:
            if n not in want:
                self.err('%s: enum %s has %s, which the spec does not'
                         % (what, cname, n))
                self.explained.add(n)

    def definitions(self):
        self.enum_names = {}
        self.const_names = {}
        for d in self.spec.get('definitions', []):
            name, typ = d['name'], d['type']
            what = '%s %s' % (typ, name)
            if d.get('header'):
                continue
            if typ == 'const':
                cname = c_upper('%s-%s' % (self.family, name))
                self.const_names[name] = d['value']
                self.expect(cname, d['value'], what)
                continue
            if typ not in ('enum', 'flags'):
                self.err('%s: unsupported definition type' % what)
                continue
            self.enum_names[name] = d
            prefix = c_upper(d.get('name-prefix',
                                   '%s-%s-' % (self.family, name)))
            start = d.get('value-start', 0)
            entries = []
            val = start if typ == 'enum' else 0
            for i, e in enumerate(d['entries']):
                if isinstance(e, str):
                    e = {'name': e}
                if 'value' in e:
                    val = e['value']
                v = val if typ == 'enum' else 1 << (val if 'value' in e
                                                     else start + i)
                entries.append((prefix + c_upper(e['name']), v))
                val += 1
            if typ == 'enum' and d.get('render-max'):
                last = entries[-1][1]
                entries.append(('__' + prefix + 'MAX', last + 1))
                entries.append((prefix + 'MAX', last))
            enum_name = d.get('enum-name', '%s-%s' % (self.family, name))
            if enum_name:
                self.expect_enum(c_lower(enum_name), entries, what)
            else:
                for n, v in entries:
                    self.expect(n, v, what)
            if typ == 'flags':
                mask = 0
                for (_, v), e in zip(entries, d['entries']):
                    # reported-only flags stay out of the request mask
                    if isinstance(e, dict) and e.get('in-mask') is False:
                        continue
                    mask |= v
                allname = prefix + 'ALL'
                if allname in self.h.values:
                    self.expect(allname, mask, what + ' (mask)')
                for n in self.h.defines:
                    if n.startswith(prefix) and n not in self.explained:
                        self.err('%s: the header defines %s, which is not '
                                 'a flag of the spec' % (what, n))
                        self.explained.add(n)

    def attribute_sets(self):
        self.sets = {}
        for s in self.spec['attribute-sets']:
            self.sets[s['name']] = s
        for s in self.spec['attribute-sets']:
            name = s['name']
            what = 'attribute-set %s' % name
            if s.get('subset-of'):
                continue
            prefix = c_upper(s.get('name-prefix',
                                   '%s-%s-a-' % (self.family, name)))
            entries = [(prefix + 'UNSPEC', 0)]
            val = 1
            seen = set()
            for a in s['attributes']:
                if 'value' in a:
                    val = a['value']
                if a['name'] in seen:
                    self.err('%s: duplicate attribute %s' % (what, a['name']))
                seen.add(a['name'])
                entries.append((prefix + c_upper(a['name']), val))
                self.attr_refs(what, a)
                val += 1
            if entries[1][1] != 1:
                self.err('%s: attribute ids must start at 1' % what)
            cnt = c_upper(s.get('attr-cnt-name', '__' + prefix + 'MAX'))
            mx = c_upper(s.get('attr-max-name', prefix + 'MAX'))
            entries += [(cnt, val), (mx, val - 1)]
            enum_name = s.get('enum-name', '%s-%s-attrs' % (self.family,
                                                            name))
            self.expect_enum(c_lower(enum_name), entries, what)

    TYPES = {'pad', 'flag', 'u8', 'u16', 'u32', 'u64', 's8', 's16', 's32',
             's64', 'string', 'binary', 'nest'}

    def attr_refs(self, what, a):
        typ = a.get('type')
        if typ not in self.TYPES:
            self.err('%s: %s has unknown type %s' % (what, a['name'], typ))
        if typ == 'flag' and ('checks' in a or 'enum' in a):
            self.err('%s: flag %s cannot have checks or an enum'
                     % (what, a['name']))
        if a.get('type') == 'nest' and a.get('nested-attributes') \
                not in self.sets:
            self.err('%s: %s nests unknown set %s'
                     % (what, a['name'], a.get('nested-attributes')))
        if 'enum' in a and a['enum'] not in self.enum_names:
            self.err('%s: %s uses unknown enum %s'
                     % (what, a['name'], a['enum']))
        for k, v in a.get('checks', {}).items():
            if isinstance(v, str) and v not in self.const_names and \
                    not re.fullmatch(r'[su](8|16|32|64)-(min|max)', v):
                self.err('%s: %s check %s uses unknown constant %s'
                         % (what, a['name'], k, v))

    def operations(self):
        ops = self.spec['operations']
        prefix = c_upper(ops.get('name-prefix', self.family + '-cmd-'))
        entries = [(prefix + 'UNSPEC', 0)]
        groups = [g['name'] for g in self.spec.get('mcast-groups',
                                                     {}).get('list', [])]
        val = 1
        for op in ops['list']:
            what = 'operation %s' % op['name']
            if 'value' in op:
                val = op['value']
            entries.append((prefix + c_upper(op['name']), val))
            val += 1
            aset = self.sets.get(op.get('attribute-set'))
            if aset is None:
                self.err('%s: unknown attribute-set %s'
                         % (what, op.get('attribute-set')))
                continue
            names = {a['name'] for a in aset['attributes']}
            lists = []
            for mode in ('do', 'dump'):
                for part in ('request', 'reply'):
                    lst = op.get(mode, {}) or {}
                    lst = (lst.get(part) or {}).get('attributes', [])
                    lists.append(('%s %s' % (mode, part), lst))
            if 'event' in op:
                lists.append(('event', op['event'].get('attributes', [])))
                if 'mcgrp' in op and op['mcgrp'] not in groups:
                    self.err('%s: unknown mcgrp %s' % (what, op['mcgrp']))
                if 'mcgrp' not in op and \
                        'unicast' not in op.get('doc', '').lower() and \
                        'not multicast' not in op.get('doc', '').lower():
                    self.err('%s: an event without mcgrp must be documented '
                             'as unicast' % what)
            elif 'mcgrp' in op:
                self.err('%s: only an event has a mcgrp' % what)
            for where, lst in lists:
                for a in lst:
                    if a not in names:
                        self.err('%s: %s names unknown attribute %s'
                                 % (what, where, a))
            if 'event' not in op and 'notify' not in op and \
                    'admin-perm' not in op.get('flags', []):
                self.err('%s: every request needs admin-perm' % what)
        entries += [('__' + prefix + 'MAX', val), (prefix + 'MAX', val - 1)]
        enum_name = ops.get('enum-name', '%s-cmd' % self.family)
        self.expect_enum(c_lower(enum_name), entries, 'operations')

    def family_defs(self):
        fam = c_upper(self.spec.get('c-family-name',
                                    self.family + '-family-name'))
        ver = c_upper(self.spec.get('c-version-name',
                                    self.family + '-family-version'))
        self.expect(fam, self.family, 'family name')
        self.expect(ver, self.spec.get('version', 1), 'family version')
        for g in self.spec.get('mcast-groups', {}).get('list', []):
            cname = c_upper(g.get('c-define-name', '%s-mcgrp-%s'
                                  % (self.family, g['name'])))
            self.expect(cname, g['name'], 'mcast-group %s' % g['name'])

    def leftovers(self):
        for n in self.h.defines:
            if n not in self.explained:
                self.err('header: %s is not in the spec' % n)
        for e, entries in self.h.enums.items():
            if 'enum ' + e not in self.explained:
                self.err('header: enum %s is not in the spec' % e)

    def run(self):
        self.family_defs()
        self.definitions()
        self.attribute_sets()
        self.operations()
        self.leftovers()
        return self.errors


# Each mutation of the header must be caught (--self-test).
MUTATIONS = [
    ('changed constant', r'(#define MBATCH_DEPTH_MAX\s+)1024', r'\g<1>1023'),
    ('extra define', r'(#define MBATCH_GENL_VERSION\s+\d+)', r'\1\n#define MBATCH_X 1'),
    ('family version', r'(#define MBATCH_GENL_VERSION\s+)\d+', r'\g<1>1'),
    ('renamed flag', r'MBATCH_MSG_F_CONTINUE\b', 'MBATCH_MSG_F_GO_ON'),
    ('bad flag mask', r'_BITUL\(1\)(\s*/\* do not halt)', r'_BITUL(2)\1'),
    ('missing attribute', r'\n\s*MBATCH_A_STATS,', ''),
    ('extra command', r'(MBATCH_CMD_RESUME,)', r'\1\n\tMBATCH_CMD_EXTRA,'),
    ('op value shifted', r'MBATCH_OP_READ = 1', 'MBATCH_OP_READ = 2'),
    ('family name', r'(MBATCH_GENL_NAME\s+)"mbatch"', r'\1"mbatch2"'),
    ('mcast group', r'"events"', '"event"'),
    ('missing flag attribute', r'\n\s*MBATCH_A_COLLECT_WAITING,', ''),
    ('outcome value', r'MBATCH_OUTCOME_DONE = 1', 'MBATCH_OUTCOME_DONE = 0'),
    ('removed command', r'\n\s*MBATCH_CMD_COLLECT_READY_NTF,', ''),
    ('result attribute order', r'(MBATCH_RESULT_A_DATA,)(\s*/\*[^*]*\*/)?(\s*)(MBATCH_RESULT_A_OUTCOME,)',
     r'\4\3\1'),
    ('stats attribute order', r'(MBATCH_STATS_A_FAILED,)(\s*)(MBATCH_STATS_A_CANCELLED,)',
     r'\3\2\1'),
]


def _attr(spec, aset, name):
    for s in spec['attribute-sets']:
        if s['name'] == aset:
            for a in s['attributes']:
                if a['name'] == name:
                    return a
    raise KeyError(name)


def _op(spec, name):
    for op in spec['operations']['list']:
        if op['name'] == name:
            return op
    raise KeyError(name)


def _flag_checks(spec):
    _attr(spec, 'mbatch', 'collect-waiting')['checks'] = {'max': 1}


def _unicast_undocumented(spec):
    _op(spec, 'collect-ready-ntf')['doc'] = 'A collect can be repeated.'


def _mcgrp_on_request(spec):
    _op(spec, 'collect')['mcgrp'] = 'events'


def _bad_type(spec):
    _attr(spec, 'result', 'outcome')['type'] = 'u31'


# Each mutation of the spec must be caught too.
SPEC_MUTATIONS = [
    ('flag with checks', _flag_checks),
    ('unicast event not documented', _unicast_undocumented),
    ('mcgrp on a request', _mcgrp_on_request),
    ('unknown attribute type', _bad_type),
]


def self_test(spec, header_path):
    text = open(header_path).read()
    bad = 0
    if Checker(spec, Header(header_path, text)).run():
        print('spec-check: self-test: the unmodified header must match')
        return 1
    for name, pat, rep in MUTATIONS:
        mutated, n = re.subn(pat, rep, text, count=1)
        if not n:
            print('spec-check: self-test: %s: pattern not found' % name)
            bad += 1
            continue
        try:
            errors = Checker(spec, Header(header_path, mutated)).run()
        except ValueError as e:
            errors = [str(e)]
        if not errors:
            print('spec-check: self-test: %s was not caught' % name)
            bad += 1
    for name, mutate in SPEC_MUTATIONS:
        mutated = copy.deepcopy(spec)
        try:
            mutate(mutated)
        except KeyError as e:
            print('spec-check: self-test: %s: %s not found' % (name, e))
            bad += 1
            continue
        if not Checker(mutated, Header(header_path, text)).run():
            print('spec-check: self-test: %s was not caught' % name)
            bad += 1
    total = len(MUTATIONS) + len(SPEC_MUTATIONS)
    print('spec-check: self-test: %d of %d mutations caught'
          % (total - bad, total))
    return 1 if bad else 0


def main():
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--spec', default=os.path.join(
        top, 'Documentation/netlink/specs/mbatch.yaml'))
    ap.add_argument('--header', default=os.path.join(
        top, 'include/uapi/linux/mbatch.h'))
    ap.add_argument('-q', '--quiet', action='store_true',
                    help='print mismatches only')
    ap.add_argument('--self-test', action='store_true',
                    help='check that mutated headers and specs are caught')
    args = ap.parse_args()
    try:
        spec = yaml.safe_load(open(args.spec))
        header = Header(args.header)
    except (OSError, yaml.YAMLError, ValueError, SyntaxError) as e:
        sys.stderr.write('spec-check: %s\n' % e)
        return 2
    if args.self_test:
        return self_test(spec, args.header)
    try:
        errors = Checker(spec, header).run()
    except (KeyError, TypeError) as e:
        sys.stderr.write('spec-check: malformed spec: %r\n' % e)
        return 2
    for e in errors:
        print('spec-check: %s' % e)
    if errors:
        print('spec-check: %d mismatches between %s and %s'
              % (len(errors), os.path.relpath(args.spec),
                 os.path.relpath(args.header)))
        return 1
    if not args.quiet:
        print('spec-check: %s matches %s' % (os.path.relpath(args.spec),
                                              os.path.relpath(args.header)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
