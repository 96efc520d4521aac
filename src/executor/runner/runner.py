# Berth's in-container runner. One process per container start; runs code blocks below the
# `docker exec` floor. Started as `python3 -c <this file>` with stdin and stdout attached to the
# host; speaks the framed protocol of docs/runner-protocol.md on them (nothing Docker-specific).
#
# Fresh mode (the default): every python block runs in a process forked from this clean
# interpreter and behaves as `python FILE` would; shell blocks are spawned directly. Each block
# gets its own session and process group; this process is a child subreaper, so whatever a block
# starts stays below it and a timeout or cancel can kill all of it (TERM, grace, KILL).
# Persistent mode: python blocks share one long-lived interpreter (the "session"); shell blocks
# keep their working directory and exported variables.
import sys

# What a fresh interpreter has imported before it runs a file: a forked block drops the rest.
BOOT_MODULES = frozenset(sys.modules)

import gc  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import select  # noqa: E402
import signal  # noqa: E402
import time  # noqa: E402

PROTOCOL = 1
MIN_PYTHON = (3, 8)
CHUNK = 1 << 20
# Pipes of this size (the unprivileged maximum, /proc/sys/fs/pipe-max-size) between the block and
# the runner and towards the host: fewer, larger reads and writes for a block that writes a lot.
PIPE_SIZE = 1 << 20
# Pending output (bytes) above which the runner stops reading the block's pipes until the host
# has taken some: the block then blocks on its writes, as it would under `docker exec`.
HIGH_WATER = 1 << 20
# After a block's main process exits, how long its output may stay open (a background child
# holding it): dockerd waits 2 s for an exec's streams, and so does the runner.
IO_GRACE = 2.0
# After a kill, how long to wait for the pipes to close before giving up on them.
KILL_IO_GRACE = 0.2
MARKER = 'BERTH_BLOCK'

# Messages (type byte): host to runner, runner to host.
RUN, CANCEL = b'R', b'C'
HELLO, STARTED, STDOUT, STDERR, IMAGE, EXIT, FATAL = b'H', b'S', b'O', b'E', b'I', b'X', b'F'


class ChildStart(BaseException):
    """Raised in a forked child to leave the runner's loop and run the block at the top level."""

    def __init__(self, spec):
        super().__init__()
        self.spec = spec


def read_chunk(fd):
    """Up to CHUNK bytes from a non-blocking fd; b'' at its end (or when it broke), None when nothing is there yet."""
    try:
        return os.read(fd, CHUNK)
    except BlockingIOError:
        return None
    except OSError:
        return b''


def widen(*fds):
    """Raises the pipes' capacity to PIPE_SIZE where the kernel allows it (F_SETPIPE_SZ)."""
    try:
        import fcntl
    except ImportError:
        return
    for fd in fds:
        try:
            fcntl.fcntl(fd, getattr(fcntl, 'F_SETPIPE_SZ', 1031), PIPE_SIZE)
        except OSError:
            pass


def exit_code(status):
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return 1


def proc_stat(pid):
    """(ppid, start time in clock ticks since boot, state) of a process, from /proc/PID/stat; None when it is gone."""
    try:
        fd = os.open('/proc/%s/stat' % pid, os.O_RDONLY)
        try:
            data = os.read(fd, 1024)
        finally:
            os.close(fd)
        # The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
        rest = data[data.rfind(b')') + 2:].split()
        return int(rest[1]), int(rest[19]), rest[0]
    except (OSError, IndexError, ValueError):
        return None


def proc_table():
    """pid -> (ppid, start time, state) for every process in /proc."""
    table = {}
    for name in os.listdir('/proc'):
        if name.isdigit():
            row = proc_stat(name)
            if row is not None:
                table[int(name)] = row
    return table


def start_ticks(pid):
    row = proc_stat(pid)
    return row[1] if row else 0


def marker_of(pid):
    """The BERTH_BLOCK value in a process's initial environment, or None."""
    try:
        with open('/proc/%d/environ' % pid, 'rb') as f:
            env = f.read()
    except OSError:
        return None
    for entry in env.split(b'\0'):
        if entry.startswith(MARKER.encode() + b'='):
            return entry[len(MARKER) + 1:].decode('ascii', 'replace')
    return None


def now_ticks():
    """The start time (clock ticks since boot, as /proc/PID/stat counts) of a process started now."""
    with open('/proc/uptime', 'rb') as f:
        uptime = float(f.read().split()[0])
    return int(uptime * os.sysconf('SC_CLK_TCK'))


def which(name, path):
    if '/' in name:
        return name if os.access(name, os.X_OK) else None
    for folder in (path or os.defpath).split(':'):
        candidate = os.path.join(folder or '.', name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def reset_signals():
    """The signal state of a process that was just exec'd: default handlers, nothing blocked."""
    try:
        signal.set_wakeup_fd(-1)
    except (ValueError, OSError):
        pass
    for number in range(1, signal.NSIG):
        try:
            signal.signal(number, signal.SIG_DFL)
        except (OSError, ValueError, RuntimeError):
            pass
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


def python_signals():
    """What Python's own start-up sets: KeyboardInterrupt on SIGINT, SIGPIPE and SIGXFSZ ignored."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for name in ('SIGPIPE', 'SIGXFSZ'):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)


def open_limit():
    """Where the fds a block keeps from the runner go (just below the open-files limit, at most 1024)."""
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        return min(soft, 1024) if soft > 16 else 1024
    except Exception:
        return 1024


class Block:
    def __init__(self, spec):
        self.spec = spec
        self.nonce = spec['nonce']
        self.pid = None
        self.t0 = 0
        self.fds = {}  # fd -> STDOUT | STDERR
        self.caps = {STDOUT: spec['cap'][0], STDERR: spec['cap'][1]}
        self.truncated = False
        self.status = None
        self.exited_at = None
        self.deadline = None
        self.kill_at = None
        self.timed_out = False
        self.cancelled = False
        self.killed = False
        self.figures = None
        self.session = False
        self.done = None  # session blocks: the result line
        self.state_lost = False
        self.state_file = None


class Runner:
    def __init__(self, fin, fout):
        self.fin, self.fout = fin, fout
        self.pid = os.getpid()
        self.inbuf = bytearray()
        self.out = bytearray()
        self.poll = select.poll()
        self.registered = {}
        self.block = None
        self.session = None  # persistent python: {'pid', 'ctl', 'res', 'out', 'err', 'resbuf'}
        self.shell = None  # persistent shell: (cwd, env)
        self.base_env = dict(os.environ)
        # Set by the `sh -c` that started the runner, not by the engine: a block would not have it.
        self.base_env.pop('PWD', None)
        # A writable folder for the figures and the persistent shell's state (the sandbox's root is read-only).
        self.figures_dir = next((d for d in (os.environ.get('TMPDIR'), '/tmp', '/dev/shm', '/workspace')
                                 if d and os.access(d, os.W_OK)), '/tmp')
        self.closing = False
        self.nofile = open_limit()
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self.counter = 0
        self.lost_between = False
        self.subreaper = False

    # --- output to the host ----------------------------------------------------------------
    def send(self, kind, payload=b''):
        header = kind + len(payload).to_bytes(4, 'big')
        if not self.out:
            # Nothing waiting: straight to the host, without copying the payload.
            try:
                n = os.writev(self.fout, [header, payload])
            except BlockingIOError:
                n = 0
            except OSError:
                self.shutdown()
            if n >= len(header) + len(payload):
                return
            if n < len(header):
                self.out += header[n:]
                n = len(header)
            self.out += memoryview(payload)[n - len(header):]
            return
        self.out += header
        self.out += payload
        self.flush()

    def send_json(self, kind, obj):
        self.send(kind, json.dumps(obj, separators=(',', ':')).encode())

    def flush(self):
        while self.out:
            try:
                n = os.write(self.fout, self.out)
            except BlockingIOError:
                return
            except OSError:
                # The host is gone: nobody to report to.
                self.shutdown()
            del self.out[:n]

    # --- poll bookkeeping -------------------------------------------------------------------
    def want(self):
        wanted = {self.wake_r: select.POLLIN}
        if not self.closing:
            wanted[self.fin] = select.POLLIN
        if self.out:
            wanted[self.fout] = select.POLLOUT
        reading = len(self.out) < HIGH_WATER
        blk = self.block
        if blk is not None and reading:
            for fd in blk.fds:
                wanted[fd] = select.POLLIN
        if self.session is not None:
            s = self.session
            if reading or blk is None or not blk.session:
                for key in ('res', 'out', 'err'):
                    if s[key] is not None:
                        wanted[s[key]] = select.POLLIN
        for fd in list(self.registered):
            if fd not in wanted:
                self.poll.unregister(fd)
                del self.registered[fd]
        for fd, mask in wanted.items():
            if self.registered.get(fd) != mask:
                if fd in self.registered:
                    self.poll.modify(fd, mask)
                else:
                    self.poll.register(fd, mask)
                self.registered[fd] = mask

    def timeout_ms(self):
        blk = self.block
        if blk is None:
            return None
        now = time.monotonic()
        moments = [m for m in (blk.deadline, blk.kill_at) if m is not None]
        if blk.status is not None and blk.exited_at is not None:
            moments.append(blk.exited_at + (KILL_IO_GRACE if blk.killed else IO_GRACE))
        if not moments:
            return None
        return max(0, int((min(moments) - now) * 1000) + 1)

    # --- the loop ---------------------------------------------------------------------------
    def loop(self):
        self.send_json(HELLO, {
            'protocol': PROTOCOL,
            'pid': self.pid,
            'python': '%d.%d.%d' % sys.version_info[:3],
            'subreaper': self.subreaper,
        })
        while True:
            self.want()
            try:
                events = self.poll.poll(self.timeout_ms())
            except InterruptedError:
                events = []
            for fd, mask in events:
                if fd == self.wake_r:
                    self.drain_wake()
                elif fd == self.fin:
                    self.read_host()
                elif fd == self.fout:
                    self.flush()
                elif self.block is not None and fd in self.block.fds:
                    self.read_block(fd)
                elif self.session is not None and fd in self.session_fds():
                    self.read_session(fd)
            self.reap()
            self.tick(time.monotonic())

    def drain_wake(self):
        try:
            while os.read(self.wake_r, 512):
                pass
        except BlockingIOError:
            pass

    def read_host(self):
        data = read_chunk(self.fin)
        if data is None:
            return
        if not data:
            self.closing = True
            self.shutdown()
        self.inbuf += data
        while len(self.inbuf) >= 5:
            size = int.from_bytes(self.inbuf[1:5], 'big')
            if len(self.inbuf) < 5 + size:
                break
            kind, payload = bytes(self.inbuf[:1]), bytes(self.inbuf[5:5 + size])
            del self.inbuf[:5 + size]
            self.handle(kind, payload)

    def handle(self, kind, payload):
        if kind == RUN:
            spec = json.loads(payload)
            if self.block is not None:
                self.send_json(FATAL, {'message': 'a block is already running'})
                return
            self.start_block(spec)
        elif kind == CANCEL:
            blk = self.block
            if blk is not None and not blk.cancelled and not blk.timed_out:
                blk.cancelled = True
                self.kill_block(blk)

    # --- starting blocks ----------------------------------------------------------------------
    def block_env(self, spec, base=None):
        env = dict(self.base_env if base is None else base)
        for entry in spec.get('env', []):
            key, _, value = entry.partition('=')
            env[key] = value
        env[MARKER] = spec['nonce']
        return env

    def start_block(self, spec):
        blk = Block(spec)
        self.block = blk
        if spec.get('timeout'):
            blk.deadline = time.monotonic() + spec['timeout']
        kind = spec['kind']
        try:
            if kind == 'python' and spec.get('persistent'):
                self.start_session_block(blk)
            elif kind == 'python':
                self.fork_block(blk, None)
            else:
                program = name = None
                path = self.block_env(spec).get('PATH')
                for name in spec['argv0']:
                    program = which(name, path)
                    if program:
                        break
                if program is None:
                    if spec.get('missing'):
                        self.finish_now(blk, 1, spec['missing'])
                        return
                    # As the engine would report it, from the exec of a missing program.
                    name = program = spec['argv0'][0]
                argv = [name, spec['file']]
                cwd = None
                env = self.block_env(spec)
                if spec.get('persistent'):
                    cwd, base = self.shell or (None, None)
                    env = self.block_env(spec, base)
                    blk.state_file = os.path.join(self.figures_dir, 'berth-shell-%d-%d' % (self.pid, self.counter))
                    self.counter += 1
                    argv = [argv[0], '-c', SHELL_WRAPPER, os.path.abspath(spec['file']), blk.state_file]
                self.fork_block(blk, (program, argv, env, cwd))
        except OSError as error:
            # No process slot (a full pids cgroup), or no memory: the block did not start.
            self.finish_now(blk, 1, 'The runner could not start the block: %s\n' % error, resource=True)

    def finish_now(self, blk, code, message, resource=False):
        if message:
            data = message.encode()
            room = blk.caps[STDERR]
            if room > 0:
                self.send(STDERR, data[:room])
        self.block = None
        self.send_json(EXIT, {'code': code, 'timedOut': False, 'cancelled': False, 'truncated': False,
                              'stateLost': False, 'notStarted': True, 'resource': resource})

    def fork_block(self, blk, program):
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        widen(out_r, err_r)
        if program is None:
            blk.figures = self.figures_path()
        try:
            # The runner's objects leave the collector's reach: a child that collects (every
            # python block does, as it exits) would otherwise walk them all and copy every page
            # they sit on (about 10 ms a block).
            gc.freeze()
            pid = self.fork()
        except OSError:
            for fd in (out_r, out_w, err_r, err_w):
                os.close(fd)
            raise
        if pid == 0:
            try:
                self.child_fds(out_w, err_w, [])
                if program is None:
                    os.environ.clear()
                    os.environ.update(self.block_env(blk.spec))
                    raise ChildStart(('fresh', blk.spec, blk.figures))
                exec_child(program)
            except ChildStart:
                raise
            except BaseException:
                os._exit(127)
        blk.pid = pid
        blk.t0 = start_ticks(pid)
        for fd in (out_w, err_w):
            os.close(fd)
        for fd, kind in ((out_r, STDOUT), (err_r, STDERR)):
            os.set_blocking(fd, False)
            blk.fds[fd] = kind
        self.send_json(STARTED, {'pid': pid, 't0': blk.t0})

    def fork(self):
        """
        os.fork(), retried for up to 2 s while the pids limit is reached: the processes of a block
        that was just killed count until they are reaped, and orphans come to the runner to be.
        """
        deadline = time.monotonic() + 2
        while True:
            try:
                return os.fork()
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise
                self.reap()
                time.sleep(0.01)

    def figures_path(self):
        """A file for the figures of one block (length-prefixed PNGs), read back when the block ends."""
        self.counter += 1
        return os.path.join(self.figures_dir, 'berth-figures-%d-%d' % (self.pid, self.counter))

    def send_figures(self, blk):
        if blk.figures is None:
            return
        try:
            with open(blk.figures, 'rb') as f:
                data = bytearray(f.read())
            os.unlink(blk.figures)
        except OSError:
            return
        self.forward_images(data, True)

    def child_fds(self, out_w, err_w, keep):
        """
        In a forked child: its own session, default signals, stdin at end-of-file, output to the
        pipes, and no other file open but `keep`, moved just below the open-files limit (out of
        the way of the block's own files) and closed on exec. Returns where `keep` went.
        """
        os.setsid()
        reset_signals()
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        moved = []
        for index, fd in enumerate(keep):
            target = self.nofile - 1 - index
            if fd != target:
                os.dup2(fd, target, inheritable=False)
            moved.append(target)
        low = self.nofile - len(keep)
        os.closerange(3, low)
        return moved

    # --- persistent python --------------------------------------------------------------------
    def session_fds(self):
        s = self.session
        return [fd for fd in (s['res'], s['out'], s['err']) if fd is not None]

    def start_session_block(self, blk):
        if self.session is None:
            self.start_session(blk.spec)
        s = self.session
        blk.session = True
        blk.pid = s['pid']
        if self.lost_between:
            blk.state_lost = True
            self.lost_between = False
        # The session started long ago: the block's own processes are those started from now on.
        blk.t0 = now_ticks()
        blk.figures = self.figures_path()
        request = json.dumps({'file': blk.spec['file'], 'nonce': blk.nonce, 'figures': blk.figures}).encode() + b'\n'
        os.write(s['ctl'], request)
        self.send_json(STARTED, {'pid': s['pid'], 't0': blk.t0})

    def start_session(self, spec):
        ctl_r, ctl_w = os.pipe()
        res_r, res_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        gc.freeze()
        pid = self.fork()
        if pid == 0:
            try:
                ctl, res = self.child_fds(out_w, err_w, [ctl_r, res_w])
                os.environ.clear()
                env = self.block_env(spec)
                env.pop(MARKER, None)
                os.environ.update(env)
                raise ChildStart(('session', {'ctl': ctl, 'res': res}, None))
            except ChildStart:
                raise
            except BaseException:
                os._exit(127)
        for fd in (ctl_r, res_w, out_w, err_w):
            os.close(fd)
        for fd in (res_r, out_r, err_r):
            os.set_blocking(fd, False)
        self.session = {'pid': pid, 'ctl': ctl_w, 'res': res_r, 'out': out_r, 'err': err_r, 'resbuf': bytearray()}

    def read_session(self, fd):
        s = self.session
        data = read_chunk(fd)
        if data is None:
            return
        blk = self.block if self.block is not None and self.block.session else None
        if not data:
            # Closed: the interpreter is ending; reap() says when it is gone.
            for key in ('res', 'out', 'err'):
                if s[key] == fd:
                    s[key] = None
            self.poll_forget(fd)
            os.close(fd)
            return
        if fd == s['res']:
            s['resbuf'] += data
            if b'\n' in s['resbuf'] and blk is not None:
                line, _, rest = bytes(s['resbuf']).partition(b'\n')
                s['resbuf'] = bytearray(rest)
                blk.done = json.loads(line)
            return
        if blk is not None:
            self.forward(blk, STDOUT if fd == s['out'] else STDERR, data)

    def poll_forget(self, fd):
        if fd in self.registered:
            self.poll.unregister(fd)
            del self.registered[fd]

    def close_session(self):
        s = self.session
        self.session = None
        for key in ('ctl', 'res', 'out', 'err'):
            fd = s[key]
            if fd is not None:
                self.poll_forget(fd)
                try:
                    os.close(fd)
                except OSError:
                    pass

    # --- output of blocks ---------------------------------------------------------------------
    def forward(self, blk, kind, data):
        room = blk.caps[kind]
        if room <= 0:
            blk.truncated = True
            return
        if len(data) > room:
            blk.truncated = True
            data = data[:room]
        blk.caps[kind] = room - len(data)
        self.send(kind, data)

    def forward_images(self, buf, deliver):
        while len(buf) >= 4:
            size = int.from_bytes(buf[:4], 'big')
            if len(buf) < 4 + size:
                return
            image = bytes(buf[4:4 + size])
            del buf[:4 + size]
            if deliver:
                self.send(IMAGE, image)

    def read_block(self, fd):
        blk = self.block
        kind = blk.fds[fd]
        data = read_chunk(fd)
        if data is None:
            return
        if not data:
            self.close_block_fd(blk, fd)
            return
        self.forward(blk, kind, data)

    def close_block_fd(self, blk, fd):
        del blk.fds[fd]
        self.poll_forget(fd)
        os.close(fd)

    def drain_block(self, blk):
        """Takes what is already in the block's pipes, then closes them."""
        for fd in list(blk.fds):
            while fd in blk.fds:
                self.read_block(fd)
                try:
                    if fd in blk.fds and not select.select([fd], [], [], 0)[0]:
                        self.close_block_fd(blk, fd)
                except OSError:
                    if fd in blk.fds:
                        self.close_block_fd(blk, fd)

    def drain_session(self):
        """Takes what the session has already written (its output before the result line, or before it died)."""
        s = self.session
        if s is None:
            return
        for key in ('out', 'err'):
            while s[key] is not None and select.select([s[key]], [], [], 0)[0]:
                self.read_session(s[key])

    # --- processes ----------------------------------------------------------------------------
    def reap(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            blk = self.block
            if blk is not None and pid == blk.pid and not blk.session:
                blk.status = status
                blk.exited_at = time.monotonic()
            if self.session is not None and pid == self.session['pid']:
                if blk is not None and blk.session:
                    blk.status = status
                    blk.exited_at = time.monotonic()
                    blk.state_lost = True
                else:
                    # Ended between blocks (os._exit in a thread): the next python block is told.
                    self.close_session()
                    self.lost_between = True

    def block_procs(self, blk, include_session):
        """The block's processes: below the runner, and the block's main process or started after it."""
        table = proc_table()
        children = {}
        for pid, (ppid, _start, _state) in table.items():
            children.setdefault(ppid, []).append(pid)
        found = []
        todo = list(children.get(self.pid, []))
        session_pid = self.session['pid'] if self.session is not None else None
        while todo:
            pid = todo.pop()
            todo.extend(children.get(pid, []))
            _ppid, start, state = table[pid]
            if state == b'Z':
                continue
            if pid == session_pid and not include_session:
                continue
            if pid == blk.pid and (not blk.session or include_session):
                found.append(pid)
            elif start > blk.t0:
                found.append(pid)
            elif start == blk.t0:
                # Same clock tick as the block's start: left over by an earlier block unless it
                # carries this block's marker or none at all.
                mark = marker_of(pid)
                if mark is None or mark == blk.nonce:
                    found.append(pid)
        return found

    def signal_block(self, blk, sig, include_session):
        for pid in self.block_procs(blk, include_session):
            try:
                os.kill(pid, sig)
            except OSError:
                pass

    def kill_block(self, blk, include_session=True):
        """SIGKILL for everything the block started: stopped first, so nothing forks away mid-sweep."""
        blk.killed = True
        blk.kill_at = None
        if blk.session and include_session:
            blk.state_lost = True
        stopped = set()
        for _ in range(100):
            fresh = [pid for pid in self.block_procs(blk, include_session) if pid not in stopped]
            if not fresh:
                break
            for pid in fresh:
                try:
                    os.kill(pid, signal.SIGSTOP)
                except OSError:
                    pass
                stopped.add(pid)
        for pid in stopped:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if blk.exited_at is not None:
            blk.exited_at = time.monotonic()

    def tick(self, now):
        blk = self.block
        if blk is None:
            return
        if blk.deadline is not None and now >= blk.deadline and not blk.timed_out and not blk.cancelled:
            blk.timed_out = True
            blk.deadline = None
            self.signal_block(blk, signal.SIGTERM, True)
            blk.kill_at = now + blk.spec.get('grace', 0.5)
        if blk.kill_at is not None and now >= blk.kill_at:
            self.kill_block(blk)
        if blk.session:
            if blk.status is not None:
                # The interpreter died under the block (os._exit, a kill): its state is lost.
                self.drain_session()
                self.close_session()
                self.complete(blk, exit_code(blk.status))
            elif blk.done is not None:
                self.drain_session()
                self.complete(blk, blk.done.get('code', 1))
            return
        if blk.status is None:
            return
        if blk.fds:
            grace = KILL_IO_GRACE if blk.killed else IO_GRACE
            if now < blk.exited_at + grace:
                return
        self.drain_block(blk)
        self.complete(blk, exit_code(blk.status))

    def complete(self, blk, code):
        if blk.spec.get('reap') and not blk.killed:
            # The sandbox: nothing a block started outlives it (the session interpreter does).
            self.kill_block(blk, include_session=False)
        if blk.state_file is not None:
            self.load_shell_state(blk)
        self.send_figures(blk)
        self.block = None
        self.send_json(EXIT, {
            'code': code,
            'timedOut': blk.timed_out,
            'cancelled': blk.cancelled,
            'truncated': blk.truncated,
            'stateLost': blk.state_lost,
        })

    def load_shell_state(self, blk):
        try:
            with open(blk.state_file, 'rb') as f:
                data = f.read()
            os.unlink(blk.state_file)
        except OSError:
            return
        if blk.timed_out or blk.cancelled:
            return
        parts = data.split(b'\0')
        if len(parts) < 2:
            return
        cwd = os.fsdecode(parts[0])
        env = {}
        for entry in parts[1:]:
            key, sep, value = os.fsdecode(entry).partition('=')
            if sep and key not in ('SHLVL', '_', 'PWD', 'OLDPWD', MARKER):
                env[key] = value
        self.shell = (cwd, env)

    def shutdown(self):
        """The host closed the channel: end the running block and the session, then exit."""
        blk = self.block
        if blk is not None:
            self.kill_block(blk)
        if self.session is not None:
            try:
                os.close(self.session['ctl'])
            except OSError:
                pass
        os._exit(0)


# Persistent shell blocks: the block's file is sourced by a shell that saves its working folder
# and exported variables on exit (to the state file the runner reads back for the next block).
SHELL_WRAPPER = (
    '__berth_state=$1; shift\n'
    "__berth_save() { __berth_s=$?; { printf '%s\\0' \"$PWD\"; env -0; } > \"$__berth_state\" 2>/dev/null; exit $__berth_s; }\n"
    'trap __berth_save EXIT\n'
    '. "$0"\n'
)


def exec_child(program):
    """In a forked child: becomes the block's program (a shell, pwsh) as the engine would start it."""
    path, argv, env, cwd = program
    try:
        if cwd:
            try:
                os.chdir(cwd)
            except OSError:
                pass
        os.execve(path, argv, env)
    except OSError as error:
        os.write(2, ('exec: "%s": %s\n' % (argv[0], error.strerror)).encode())
        os._exit(126 if isinstance(error, PermissionError) else 127)


# --- the block's side (runs in the forked child) ---------------------------------------------

def clean_modules():
    """Forget the modules the runner imported: the block imports them afresh, as `python FILE` would."""
    for name in list(sys.modules):
        if name not in BOOT_MODULES:
            del sys.modules[name]


def install_figures(where):
    """
    Makes matplotlib draw with Agg (unless MPLBACKEND says otherwise) and hands each figure the
    block shows (`plt.show()`) or leaves open to the runner as PNG, appended to the file that
    `where()` names. Nothing is imported unless the block imports `matplotlib.pyplot` itself.
    """

    def capture():
        pyplot = sys.modules.get('matplotlib.pyplot')
        if pyplot is None:
            return
        import io

        numbers = pyplot.get_fignums()
        if not numbers:
            return
        fd = os.open(where(), os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        try:
            for number in numbers:
                buf = io.BytesIO()
                try:
                    pyplot.figure(number).savefig(buf, format='png')
                except Exception as error:  # a figure that cannot be drawn
                    sys.stderr.write('berth: could not capture figure %s: %s\n' % (number, error))
                    continue
                data = buf.getvalue()
                view = memoryview(len(data).to_bytes(4, 'big') + data)
                while view:
                    view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        pyplot.close('all')

    class Finder:
        def find_spec(self, name, path, target=None):
            if name != 'matplotlib.pyplot':
                return None
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, 'find_spec'):
                    continue
                spec = finder.find_spec(name, path, target)
                if spec is not None:
                    break
            else:
                return None
            original = spec.loader.exec_module

            def exec_module(module):
                if not os.environ.get('MPLBACKEND'):
                    sys.modules['matplotlib'].rcParams['backend'] = 'agg'
                original(module)

                def show(*args, **kwargs):
                    capture()

                module.show = show

            spec.loader.exec_module = exec_module
            return spec

    sys.meta_path.insert(0, Finder())
    return capture


def print_exception(error, filename):
    """Prints an uncaught exception as Python would, without the runner's own frames."""
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != filename:
        tb = tb.tb_next
    if isinstance(error, SyntaxError) and tb is None:
        tb = None
    error.__traceback__ = tb
    sys.last_type, sys.last_value, sys.last_traceback = type(error), error, tb
    sys.excepthook(type(error), error, tb)


def load_main(file):
    """A fresh `__main__` for `file`, as the interpreter makes one for `python FILE`."""
    path = os.path.abspath(file) if sys.version_info >= (3, 9) else file
    main = type(sys)('__main__')
    main.__file__ = path
    main.__cached__ = None
    main.__builtins__ = sys.modules['builtins']
    loader = sys.modules['_frozen_importlib_external'].SourceFileLoader('__main__', path)
    main.__loader__ = loader
    sys.modules['__main__'] = main
    return main, path


def exit_status(error):
    """The exit status of an uncaught SystemExit, printing its message as Python does."""
    value = error.code
    if value is None:
        return 0
    if isinstance(value, int):
        return value & 0xFF
    try:
        sys.stderr.write('%s\n' % (value,))
    except Exception:
        pass
    return 1


def flush_streams(status, failed):
    """Flushes stdout and stderr as the interpreter does at exit: a failure is reported (once), and gives 120."""
    for stream in (sys.stdout, sys.stderr):
        if id(stream) in failed:
            continue
        try:
            if stream is not None and not stream.closed:
                stream.flush()
        except Exception as error:
            try:
                import traceback

                sys.__stderr__.write('Exception ignored in: %r\n%s' % (stream, ''.join(traceback.format_exception_only(type(error), error))))
            except Exception:
                pass
            failed.add(id(stream))
            if status == 0:
                status = 120
    return status


def finalize(status):
    """
    Ends the block's process as the interpreter's own exit would, in what a block can see: the
    non-daemon threads are waited for, the atexit handlers run, the objects of the block's own
    modules and of `__main__` are released (an unclosed file is flushed, a __del__ runs), and the
    standard streams are flushed (exit status 120 when stdout cannot be). What it skips is
    tearing down the runner's modules, which would copy every page of the runner's heap into
    this process (most of a fresh block's time).
    """
    threading = sys.modules.get('threading')
    if threading is not None:
        try:
            threading._shutdown()
        except Exception:
            pass
    import atexit

    atexit._run_exitfuncs()
    failed = set()
    status = flush_streams(status, failed)
    # As the interpreter does: the block's modules leave sys.modules, what nothing else holds is
    # collected, and the dicts of those still alive are cleared (names set to None, private ones
    # first), last imported first.
    import _weakref

    names = [name for name in sys.modules if name not in BOOT_MODULES or name == '__main__']
    alive = [_weakref.ref(sys.modules.pop(name)) for name in names if isinstance(sys.modules.get(name), type(sys))]
    gc.collect()
    module = namespace = None
    for ref in reversed(alive):
        module = ref()
        if module is None:
            continue
        namespace = module.__dict__
        for private in (True, False):
            for key in list(namespace):
                if key != '__builtins__' and key.startswith('_') == private:
                    namespace[key] = None
    del module, namespace
    gc.collect()
    status = flush_streams(status, failed)
    os._exit(status)


def reexec(file):
    """Becomes `python FILE` for real (the environment, streams and signals are already the block's)."""
    program = (getattr(sys, 'orig_argv', None) or [sys.executable])[0]
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    for name in ('SIGPIPE', 'SIGXFSZ'):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    try:
        os.execvp(program, [program, file])
    except OSError:
        os.execv(sys.executable, [program, file])


def run_fresh(spec, figures):
    """The block's process: runs the file as `python FILE` would, then ends as the interpreter would."""
    python_signals()
    file = spec['file']
    sys.argv = [file]
    if hasattr(sys, 'orig_argv'):
        sys.orig_argv = [sys.orig_argv[0], file]
    sys.path[0] = os.path.dirname(os.path.realpath(file))
    main, path = load_main(file)
    clean_modules()
    capture = install_figures(lambda: figures)
    status = 0
    try:
        try:
            with open(file, 'rb') as f:
                source = f.read()
        except OSError as error:
            sys.stderr.write("%s: can't open file %r: [Errno %d] %s\n" % (
                sys.executable, path, error.errno, error.strerror))
            raise SystemExit(2)
        if b'\0' in source:
            # What the interpreter makes of NUL bytes in a file differs by version from what
            # compile() does: let the interpreter itself run this one.
            reexec(file)
        code = compile(source, path, 'exec', dont_inherit=True)
        del source
        exec(code, main.__dict__)
    except SystemExit as error:
        capture()
        status = exit_status(error)
    except BaseException as error:
        capture()
        print_exception(error, path)
        status = 130 if isinstance(error, KeyboardInterrupt) else 1
    else:
        capture()
    finalize(status)


def run_session(fds, _unused):
    """The persistent interpreter: runs each block's file in one shared `__main__`."""
    python_signals()
    ctl = os.fdopen(fds['ctl'], 'rb', buffering=0)
    res = fds['res']
    main = type(sys)('__main__')
    main.__builtins__ = sys.modules['builtins']
    sys.modules['__main__'] = main
    sys.path[0] = os.getcwd()
    sys.argv = ['']
    clean_modules()
    request = {}
    capture = install_figures(lambda: request['figures'])
    pending = b''
    while True:
        while b'\n' not in pending:
            chunk = ctl.read(4096)
            if not chunk:
                raise SystemExit(0)
            pending += chunk
        line, _, pending = pending.partition(b'\n')
        request = json.loads(line)
        file = request['file']
        os.environ[MARKER] = request['nonce']
        path = os.path.abspath(file)
        sys.argv = [file]
        code = 0
        try:
            with open(file, 'rb') as f:
                compiled = compile(f.read(), path, 'exec', dont_inherit=True)
            exec(compiled, main.__dict__)
        except SystemExit as error:
            code = exit_status(error)
        except BaseException as error:
            print_exception(error, path)
            code = 1
        finally:
            try:
                capture()
            except BaseException as error:
                sys.stderr.write('berth: could not capture figures: %s\n' % (error,))
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except Exception:
                    pass
        os.write(res, b'{"code": %d}\n' % code)


def main():
    if sys.version_info < MIN_PYTHON:
        sys.stderr.write('berth-runner: Python %d.%d or later is needed\n' % MIN_PYTHON)
        sys.exit(3)
    fin = os.dup(0)
    fout = os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    os.set_blocking(fin, False)
    os.set_blocking(fout, False)
    widen(fout)
    subreaper = False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_CHILD_SUBREAPER = 36
        subreaper = libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except Exception:
        pass
    runner = Runner(fin, fout)
    runner.subreaper = subreaper
    runner.loop()


_child = None
try:
    main()
except ChildStart as start:
    _child = start.spec
if _child is not None:
    _kind, _spec, _figures = _child
    del _child
    if _kind == 'fresh':
        run_fresh(_spec, _figures)
    else:
        run_session(_spec, _figures)
