#!/usr/bin/env python3
"""bench/run helper: the markdown report from bench/run's TSV (standard library only).

Usage: report.py TSV

Prints the tables (small responses, large bodies), the ratios of every captun path to ssh -R,
localtunnel and the nginx hop, public over trusted policy, the SDK handler over the bare Pekko
WebSocket loop (path bare-loop), the p99 each path adds over direct nginx, the node's CPU per request,
the idle-tunnel figures and issue 12's targets with the measured values, and the victim tunnel's figures beside each attack (path attacks).
Missing figures print as n/a.
"""
import csv
import sys

PEERS = [('ssh-r', 'ssh -R'), ('localtunnel', 'localtunnel'), ('nginx-hop', 'nginx hop')]
CAPTUN = ['captun', 'captun-public', 'captun-sdk', 'captun-cluster']
# The SDK handler target's yardstick (bench/run path bare-loop): its server JVM is reported as "node",
# its WebSocket client JVM as "tunnel client"
BARE = 'bare-loop'


def num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def fmt(x, digits=0, unit=''):
    if x is None:
        return 'n/a'
    if digits == 0:
        return '{:,.0f}{}'.format(x, unit)
    return '{:,.{d}f}{}'.format(x, unit, d=digits)


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def load(path):
    with open(path, newline='') as f:
        return list(csv.DictReader(f, delimiter='\t'))


class Data:
    def __init__(self, rows):
        self.rows = rows
        self.paths = []
        self.conns = []
        self.wrk = {}      # (path, conns) -> row
        self.xfer = {}     # (path, kind) -> row
        self.idle = None
        self.skipped = []
        self.drops = {}    # path -> (count, lines)
        self.gaps = []     # (path, note)
        self.attacks = {}  # kind -> {'wrk': row, 'heap': row, 'skipped': note} (path "attack:<kind>", in run order)
        for r in rows:
            p, t = r['path'], r['test']
            if p.startswith('attack:'):
                self.attacks.setdefault(p[len('attack:'):], {})[t] = r
                continue
            if t == 'skipped':
                self.skipped.append((p, r['note']))
                continue
            if t == 'idle':
                self.idle = r
                continue
            if t == 'drops':
                self.drops[p] = (int(num(r['requests']) or 0), r['note'])
                continue
            if t == 'gap':
                self.gaps.append((p, r['note']))
                continue
            if p not in self.paths:
                self.paths.append(p)
            if t == 'wrk':
                c = int(r['conns'])
                if c not in self.conns:
                    self.conns.append(c)
                self.wrk[(p, c)] = r
            elif t in ('download', 'upload'):
                self.xfer[(p, t)] = r

    def rps(self, p, c):
        r = self.wrk.get((p, c))
        return num(r['rps']) if r else None

    def p99(self, p, c):
        r = self.wrk.get((p, c))
        return num(r['p99_ms']) if r else None

    def added_p99(self, p, c):
        a, d = self.p99(p, c), self.p99('direct', c)
        return None if a is None or d is None else a - d

    def mbs(self, p, kind):
        r = self.xfer.get((p, kind))
        return num(r['mb_s']) if r else None

    def node_ms(self, p, c):
        r = self.wrk.get((p, c))
        return num(r['node_ms_per_req']) if r else None

    def client_ms(self, p, c):
        r = self.wrk.get((p, c))
        return num(r['client_ms_per_req']) if r else None


def table(header, rows, align=None):
    out = ['| ' + ' | '.join(header) + ' |',
           '|' + '|'.join(align or (['---'] + ['---:'] * (len(header) - 1))) + '|']
    out += ['| ' + ' | '.join(r) + ' |' for r in rows]
    return '\n'.join(out)


def idle_values(row):
    v = {}
    for kv in (row['note'] or '').split():
        if '=' in kv:
            k, _, x = kv.partition('=')
            v[k] = x
    return v


ATTACK_WHAT = {
    'headers': '72 KB request heads to another tunnel, 170/s (a 100 Mbit/s uplink), one IP',
    'headers-max': '72 KB request heads to another tunnel, as fast as answered on 8 connections, one IP',
    'ws-flood': 'a tunnel client pushing 16 MiB messages to 60 public WebSockets that never read',
    'probes': 'diagnostic probes for random free names, as fast as answered, 8 connections over 40 IPs',
    'loris': '1,100 connections from one IP trickling a request head, a byte every 5 s',
}


def attack_section(d):
    """The victim tunnel alone and then beside each attack: req/s, p99, errors, CPU, the node's heap."""
    out = ['\n### Under attack (issue 14): victim tunnel "bench" at 16 connections, alone and then beside each attack\n']
    rows = []
    for kind, a in d.attacks.items():
        if kind.startswith('alone'):
            continue
        w, h = a.get('wrk'), a.get('heap')
        b = d.attacks.get('alone:' + kind, {}).get('wrk')
        base_rps = num(b['rps']) if b and b['rps'] != '' else None
        if a.get('skipped') or not w or w['rps'] == '':
            note = (a.get('skipped') or w or {}).get('note', 'not measured')
            rows.append([kind, ATTACK_WHAT.get(kind, kind), fmt(base_rps), 'n/a', '', '', '', '', '', '', note])
            continue
        v = idle_values(h) if h else {}
        rps = num(w['rps'])
        r = ratio(rps, base_rps)
        errs = int(num(w['non2xx']) or 0) + int(num(w['sock_errors']) or 0)
        hostile = num(v.get('hostile'))
        secs = num(w['seconds'])
        rate = hostile / secs if hostile and secs else None
        # Victim requests the attack displaced per hostile answer: about 1 means an attack answer costs the
        # node about what an ordinary request does (no amplification); what is left is CPU share.
        displaced = (base_rps - rps) / rate if rate and base_rps and kind not in ('loris', 'ws-flood') else None
        attacker = (h['note'].split(' | ', 1)[1] if h and ' | ' in h['note'] else '')
        heap = '{} / {} MiB (after GC {})'.format(v.get('peak_mib', '?'), v.get('max_mib', '?'), v.get('after_gc_mib', '?'))
        alive = 'yes' if v.get('node_alive') == 'yes' and v.get('oom') == '0' else 'NO'
        cpu = ' '.join(x for x in (w['cpu'] or '').split() if x.split('=')[0] in ('captun-node', 'attacker'))
        p99b = num(b['p99_ms']) if b else None
        rows.append([kind, ATTACK_WHAT.get(kind, kind), fmt(base_rps), fmt(rps), fmt(r, 2) + '×',
                     '{} / {}'.format(fmt(p99b, 1), fmt(num(w['p99_ms']), 1, ' ms')), str(errs), cpu, heap,
                     alive + ('' if v.get('target_serving') != 'no' else ', target tunnel NOT serving'),
                     ('{} in the run ({}/s){}; {}'.format(fmt(hostile), fmt(rate), '' if displaced is None
                      else ', {} victim requests displaced per answer'.format(fmt(max(0.0, displaced), 2)), attacker)
                      if hostile else attacker)])
    out.append(table(['attack', 'what', 'victim alone req/s', 'beside the attack', 'ratio', 'p99 alone / beside',
                      'victim errors', 'CPU beside (% of a core)', 'node heap peak / -Xmx', 'node alive, no OOM',
                      'attack got (answers, or bytes for loris, or 16 MiB messages for ws-flood, during the run; then its totals)'],
                     rows, ['---', '---', '---:', '---:', '---:', '---:', '---:', '---', '---', '---', '---']))
    for p, label in (('attacks', 'victim tunnel "bench"'), ('attacks-target', 'attacked tunnel "target"')):
        if p in d.drops:
            cnt, lines = d.drops[p]
            out.append('\n{}: dropped {} time(s){}'.format(label, cnt, ': ' + lines if cnt else ''))
    out.append('\nEach attack is compared with the victim alone in the run just before it. "Displaced per answer": '
               'victim req/s lost over the attack\'s answers/s; near 1, an attack answer costs the node about what an '
               'ordinary request does. Everything shares two cores, the attacker included (its CPU is in the CPU column).')
    return '\n'.join(out)


def main():
    d = Data(load(sys.argv[1]))
    if d.attacks and not d.paths and not d.idle:
        print(attack_section(d))  # a run of the attacks path alone: the other tables would be empty
        return
    cs = d.conns
    out = []

    out.append('\n### Small responses (wrk, GET /hello.txt, 13 bytes)\n')
    rows = []
    for p in d.paths:
        for c in cs:
            r = d.wrk.get((p, c))
            if not r:
                continue
            if r['rps'] == '':
                rows.append([p, str(c), 'n/a', '', '', '', r['note'], '', '', '', ''])
                continue
            non2xx, sock = int(r['non2xx'] or 0), int(r['sock_errors'] or 0)
            err = '0' if non2xx + sock == 0 else 'non-2xx {}, socket {}'.format(non2xx, sock)
            req = num(r['requests'])
            opens = num(r['tcp_opens'])
            op = fmt(opens) if not req else '{} ({:.2f}/req)'.format(fmt(opens), opens / req)
            rows.append([p, str(c), fmt(num(r['rps'])), r['p50_ms'], r['p99_ms'], r['p999_ms'], err,
                         r['node_ms_per_req'] or '', r['client_ms_per_req'] or '', r['cpu'], op])
    out.append(table(['path', 'conns', 'req/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'errors', 'node CPU ms/req',
                      'tunnel client CPU ms/req', 'CPU (% of one core)', 'TCP opens'], rows,
                     ['---', '---:', '---:', '---:', '---:', '---:', '---', '---:', '---:', '---', '---:']))

    out.append('\n### Large bodies (curl upload, checked download; median of the transfers)\n')
    rows = []
    for p in d.paths:
        for kind in ('download', 'upload'):
            r = d.xfer.get((p, kind))
            if not r:
                continue
            size = num(r['bytes'])
            rows.append([p, kind, '{:.0f} MiB'.format(size / 1048576) if size else '', fmt(num(r['mb_s'])),
                         r['cpu'], r['note']])
    out.append(table(['path', 'test', 'size', 'MB/s', 'CPU (last transfer)', 'note'], rows,
                     ['---', '---', '---', '---:', '---', '---']))
    for p, note in d.skipped:
        out.append('- {} skipped: {}'.format(p, note))
    if d.drops:
        out.append('\n### Tunnel drops (the tunnel client\'s "disconnected" lines during the path)\n')
        out.append(table(['path', 'drops', 'lines'], [[p, str(n), lines or ''] for p, (n, lines) in d.drops.items()],
                         ['---', '---:', '---']))
    for p, note in d.gaps:
        out.append('- {}: {}'.format(p, note))

    out.append('\n### Ratios (throughput of the first over the second, same run)\n')
    rows = []
    pairs = []
    for p in CAPTUN:
        if p not in d.paths:
            continue
        for q, _ in PEERS:
            if q in d.paths:
                pairs.append((p, q))
    if 'captun' in d.paths:
        for p in ('captun-public', 'captun-sdk', 'captun-cluster'):
            if p in d.paths:
                pairs.append((p, 'captun'))
    if 'captun-sdk' in d.paths and BARE in d.paths:
        pairs.append(('captun-sdk', BARE))
    for p, q in pairs:
        cells = ['{} / {}'.format(p, q)]
        cells += [fmt(ratio(d.rps(p, c), d.rps(q, c)), 2) for c in cs]
        cells += [fmt(ratio(d.mbs(p, k), d.mbs(q, k)), 2) for k in ('download', 'upload')]
        rows.append(cells)
    out.append(table(['ratio'] + ['req/s c={}'.format(c) for c in cs] + ['download', 'upload'], rows))
    out.append('\n`captun-public / captun` is public policy (limits far away) over trusted policy; '
               '`captun-sdk` is SDK handler mode (an instant in-process answer, no local HTTP call); '
               '`captun-sdk / bare-loop` is it over a bare Pekko WebSocket request/response loop (modules/bench '
               'BareWsLoop: server JVM with the node\'s flags and dispatcher, one WebSocket client JVM answering at '
               'once; no transfers).')
    for p, label in (('captun-sdk', 'SDK handler mode'), (BARE, 'bare Pekko WebSocket loop')):
        if p in d.paths:
            out.append('\n{} req/s: '.format(label) + ', '.join(
                '{} @{}'.format(fmt(d.rps(p, c)), c) for c in cs) + '.')

    out.append('\n### p99 added over direct nginx (ms: path p99 minus direct p99 at the same connections)\n')
    rows = []
    for p in d.paths:
        if p == 'direct':
            continue
        rows.append([p] + [fmt(d.added_p99(p, c), 3) for c in cs])
    out.append(table(['path'] + ['c={}'.format(c) for c in cs], rows))

    cap = [p for p in CAPTUN + [BARE] if p in d.paths]
    if cap:
        out.append('\n### Node CPU per small request (ms of utime+stime of the node JVM(s) / requests completed)\n')
        rows = []
        for p in cap:
            rows.append([p] + [fmt(d.node_ms(p, c), 3) for c in cs] + [fmt(d.client_ms(p, 16), 3)])
        out.append(table(['path'] + ['node c={}'.format(c) for c in cs] + ['tunnel client c=16'], rows))
        out.append('\nThe cluster row sums both nodes; the bare-loop row is its Pekko server JVM and its WebSocket '
                   'client JVM. Reference figure: the 16-connection run.')

    if d.idle:
        v = idle_values(d.idle)
        out.append('\n### Idle tunnels (one fresh node, SDK tunnels in handler mode from one JVM)\n')
        n = num(v.get('requested'))
        kib = num(v.get('heap_per_tunnel_kib'))
        rows = [
            ['tunnels requested / connected / failed', '{} / {} / {}'.format(v.get('requested'), v.get('opened'), v.get('failed'))],
            ['time to connect them', '{} s'.format(v.get('connect_s'))],
            ['node heap after GC, before → after', '{:.1f} → {:.1f} MiB'.format(
                (num(v.get('heap_before_kib')) or 0) / 1024, (num(v.get('heap_after_kib')) or 0) / 1024)],
            ['node heap per idle tunnel', fmt(kib, 1, ' KiB')],
            ['tunnels answering one request each', '{} of {} ({} failed, {} s)'.format(
                v.get('answered'), v.get('opened'), v.get('request_failures'), v.get('request_s'))],
            ['node CPU while they sit idle', '{}% of one core over {} s'.format(v.get('node_cpu_pct'), v.get('idle_s'))],
            ['tunnel clients\' JVM CPU meanwhile', '{}% of one core'.format(v.get('client_cpu_pct'))],
            ['still connected at the end', str(v.get('still_connected'))],
        ]
        if v.get('errors', '-') != '-':
            rows.append(['connect errors', v.get('errors')])
        out.append(table(['idle tunnels', 'value'], rows, ['---', '---']))

    if d.attacks:
        out.append(attack_section(d))

    out.append('\n### Issue 12 targets (this run)\n')
    rows = []

    def verdict(ok):
        return 'n/a' if ok is None else ('met' if ok else 'missed')

    if 'captun' in d.paths and 'ssh-r' in d.paths:
        rs = [ratio(d.rps('captun', c), d.rps('ssh-r', c)) for c in cs]
        ok = None if None in rs else all(x >= 1 for x in rs)
        rows.append(['CLI proxy req/s ≥ ssh -R at {}'.format(', '.join(map(str, cs))),
                     ', '.join(fmt(x, 2) + '×' for x in rs), verdict(ok)])
    if 'captun' in d.paths and 'localtunnel' in d.paths:
        a1, l1 = d.added_p99('captun', 1), d.added_p99('localtunnel', 1)
        a16, l16 = d.added_p99('captun', 16), d.added_p99('localtunnel', 16)
        ok1 = None if a1 is None or l1 is None else a1 <= l1
        ok16 = None if a16 is None or l16 is None else a16 <= l16 / 2
        rows.append(['CLI proxy added p99 @1 ≤ localtunnel\'s', '{} vs {} ms'.format(fmt(a1, 2), fmt(l1, 2)), verdict(ok1)])
        rows.append(['CLI proxy added p99 @16 ≤ half of localtunnel\'s', '{} vs {} ms'.format(fmt(a16, 2), fmt(l16, 2)), verdict(ok16)])
    if 'captun-sdk' in d.paths or BARE in d.paths:
        if 'captun-sdk' not in d.paths:
            ok = None
            measured = 'captun-sdk not measured in this run (bare loop: {} req/s @16)'.format(fmt(d.rps(BARE, 16)))
        elif BARE in d.paths:
            rs = [ratio(d.rps('captun-sdk', c), d.rps(BARE, c)) for c in cs]
            ok = None if None in rs else all(x >= 0.8 for x in rs)
            measured = ', '.join('{}× @{}'.format(fmt(x, 2), c) for x, c in zip(rs, cs))
            measured += ' ({} vs {} req/s @16)'.format(fmt(d.rps('captun-sdk', 16)), fmt(d.rps(BARE, 16)))
        else:
            ok = None
            measured = '{} req/s @16 (path bare-loop not in this run)'.format(fmt(d.rps('captun-sdk', 16)))
        rows.append(['SDK handler ≥ 0.8× a bare Pekko WebSocket request/response loop at {}'.format(
            ', '.join(map(str, cs))), measured, verdict(ok)])
    if 'captun-public' in d.paths and 'captun' in d.paths:
        r = ratio(d.rps('captun-public', 16), d.rps('captun', 16))
        rows.append(['public policy ≥ 0.8× trusted @16', fmt(r, 2) + '×', verdict(None if r is None else r >= 0.8)])
    if 'captun' in d.paths:
        dn, up = d.mbs('captun', 'download'), d.mbs('captun', 'upload')
        ok = None if dn is None or up is None else dn >= 500 and up >= 500
        big = ' / '.join('{:.0f} MiB'.format(num(d.xfer[('captun', k)]['bytes']) / 1048576)
                         for k in ('download', 'upload') if d.xfer.get(('captun', k)) and num(d.xfer[('captun', k)]['bytes']))
        rows.append(['1 GiB each way through one node ≥ 500 MB/s, byte-exact',
                     '{} down, {} up MB/s ({})'.format(fmt(dn), fmt(up), big or 'n/a'), verdict(ok)])
        nm = d.node_ms('captun', 16)
        rows.append(['node CPU per small request ≤ 0.1 ms (CLI proxy, c=16)', fmt(nm, 3) + ' ms',
                     verdict(None if nm is None else nm <= 0.1)])
    if d.idle:
        v = idle_values(d.idle)
        kib = num(v.get('heap_per_tunnel_kib'))
        rows.append(['idle tunnel ≤ 48 KiB of node heap', fmt(kib, 1, ' KiB'), verdict(None if kib is None else kib <= 48)])
        n, ans = num(v.get('requested')), num(v.get('answered'))
        rows.append(['10,000 idle tunnels on one node (-Xmx1g), every one answering',
                     '{} of {} answered'.format(v.get('answered'), v.get('requested')),
                     verdict(None if n is None or ans is None else (n >= 10000 and ans == n)) if n and n >= 10000
                     else 'n/a (run with --idle 10000)'])
        cpu = num(v.get('node_cpu_pct'))
        rows.append(['node under 10% of one core while {} tunnels sit idle'.format(v.get('requested')),
                     fmt(cpu, 1, '%'), verdict(None if cpu is None else cpu < 10)])
    out.append(table(['target', 'measured', 'verdict'], rows, ['---', '---', '---']))
    print('\n'.join(out))


if __name__ == '__main__':
    main()
