"""gdb commands for goroutines: `source tools/gdb_gort.py` in a gdb attached to an
image (make debug does it), or to the hosted binary.

    info goroutines       one line per goroutine: id, state, wait reason, the CPU
                          running it, the function it was started with
    goroutine N bt        goroutine N's backtrace: a parked or runnable one from the
                          context it saved when it stopped (pc, then the chain of
                          frame records from its frame pointer), as the kernel's
                          goroutine dump walks it; a running one from the registers
                          of the CPU running it (the gdb thread of that vCPU)

The walk checks every frame record (inside the goroutine's stack, growing upwards;
for a running one, whose CPU may be in an interrupt handler on another stack, only
that no record repeats) and stops at 64 frames. A CPU stopped at the entry of an
interrupt or exception, where no frame record names the interrupted code, shows the
interrupted pc as its second frame: on aarch64 inside the exception vector table, from
ELR_EL1; on x86-64 inside an entry stub or trap_common while %rbp does not hold its
record, from the stack, above what the instructions before the pc pushed. Reads go
through gdb, so they see what the CPU sees: stop the image in kernel or goroutine code
(any stop under QEMU's gdb stub is).
"""

import re

import gdb

STATUS = {0: "idle", 1: "runnable", 2: "running", 3: "waiting", 4: "dead"}
G_SCAN = 0x100
MAX_FRAMES = 64


def _u64(addr):
    mem = gdb.selected_inferior().read_memory(addr, 8)
    return int.from_bytes(bytes(mem), "little")


def _in_vectors(pc):
    """pc is in aarch64's exception vector table (arch/aarch64, arm64_vectors)."""
    if _arch() != "aarch64":
        return False
    try:
        s = gdb.execute("info symbol 0x%x" % pc, to_string=True).strip()
    except gdb.error:
        return False
    return s.startswith("arm64_vectors ") or s.startswith("arm64_vectors\t")


# x86-64's interrupt stubs (arch/x86_64/trap.S): 224 of them, 16 bytes apart from
# x86_irq_stubs.
X86_IRQ_STUBS = 224


def _sym_addr(name):
    sym = gdb.lookup_global_symbol(name) or gdb.lookup_static_symbol(name)
    if sym is not None:
        return int(sym.value().address)
    try:
        return int(gdb.parse_and_eval("(unsigned long)&%s" % name))
    except gdb.error:
        return None


def _x86_pushed(start, pc):
    """Bytes an x86-64 entry path pushed from start up to pc (straight-line code),
    and whether %rbp then holds its frame record (set by "mov %rsp,%rbp", given back
    by "pop %rbp")."""
    depth, record = 0, False
    if pc <= start:
        return depth, record
    arch = gdb.newest_frame().architecture()
    for insn in arch.disassemble(start, pc - 1):
        asm = insn["asm"].split("#")[0].strip()
        m = re.match(r"(add|sub)q?\s+\$(0x[0-9a-f]+|\d+),%rsp$", asm)
        if m:
            n = int(m.group(2), 0)
            depth += n if m.group(1) == "sub" else -n
        elif re.match(r"push", asm):
            depth += 8
        elif re.match(r"pop", asm):
            depth -= 8
            if re.match(r"popq?\s+%rbp$", asm):
                record = False
        elif re.match(r"movq?\s+%rsp,%rbp$", asm):
            record = True
    return depth, record


def _x86_entry_rip(pc, sp):
    """The interrupted (rip, rsp) when an x86-64 CPU was stopped in an interrupt or
    exception entry (arch/x86_64/trap.S) while %rbp did not hold the entry's frame
    record {rbp, rip + 1}: from the first instruction of a stub until trap_common
    builds the record, and from where it pops %rbp back to the iretq. The CPU pushed
    rip, cs, rflags, rsp, ss (and, for some exceptions, an error code), the stub a
    vector (and a 0 where the CPU pushed no error code), trap_common the registers:
    the rip lies above what the instructions before pc pushed, the rsp three words
    above it. None anywhere else."""
    if _arch() != "x86_64":
        return None
    irq = _sym_addr("x86_irq_stubs")
    if irq is not None and irq <= pc < irq + X86_IRQ_STUBS * 16:
        start = irq + (pc - irq) // 16 * 16
    else:
        sym = _symbol(pc)
        if "+0x" not in sym:
            return None
        name, off = sym.rsplit("+0x", 1)
        start = pc - int(off, 16)
        if name == "trap_common":
            depth, record = _x86_pushed(start, pc)
            slot = sp + depth + 16
            return None if record else (_u64(slot), _u64(slot + 24))
        if not re.match(r"trap_\d+$", name):
            return None
    # an entry stub: one push before its jmp (the CPU pushed an error code) or two
    arch = gdb.newest_frame().architecture()
    pushes = 0
    for insn in arch.disassemble(start, start + 15):
        if insn["asm"].startswith("jmp"):
            break
        pushes += insn["asm"].startswith("push")
    depth, _ = _x86_pushed(start, pc)
    slot = sp + depth + (8 if pushes == 1 else 0)
    return _u64(slot), _u64(slot + 24)


def _arch():
    name = gdb.selected_inferior().architecture().name()
    return "aarch64" if "aarch64" in name else "x86_64"


def _symbol(pc):
    try:
        s = gdb.execute("info symbol 0x%x" % pc, to_string=True).strip()
    except gdb.error:
        return "?"
    if s.startswith("No symbol"):
        return "?"
    # "func + 12 in section .text" -> "func+0xc"
    name = s.split(" in section")[0]
    if " + " in name:
        fn, off = name.split(" + ")
        return "%s+0x%x" % (fn, int(off))
    return name + "+0x0"


def _goroutines():
    g = gdb.parse_and_eval("sched.allgs")
    seen = 0
    while int(g) != 0 and seen < 1000000:
        yield g
        g = g["alllink"]
        seen += 1


def _find(n):
    for g in _goroutines():
        if int(g["id"]) == n:
            return g
    return None


def _status(g):
    st = int(g["status"])
    name = STATUS.get(st & ~G_SCAN, "status %d" % st)
    return name + (" (being scanned)" if st & G_SCAN else ""), st & ~G_SCAN


def _cpu_of(g):
    p = g["p"]
    return int(p["id"]) if int(p) != 0 else None


# The preemption trampolines (arch/*/preempt.S): each plants a frame record for the
# code it interrupted and saves that code's registers next to it.
PREEMPT_TRAMPS = ("x86_preempt_tramp", "host_preempt_tramp", "a64_preempt_tramp")

# aarch64 prologue and epilogue instructions (arch/aarch64/trap.c's, same masks)
A64_STP_FP_LR = (0xa9807bfd, 0xa9007bfd)	# stp x29, x30, [sp, #imm]! / [sp, #imm]
A64_LDP_FP_LR = (0xa8c07bfd, 0xa9407bfd)	# ldp x29, x30, [sp], #imm / [sp, #imm]
A64_PAIR_MASK = 0xffc07fff
A64_ADD_FP_SP, A64_ADD_MASK = 0x910003fd, 0xffc003ff


_tramp_ranges = None	# [(name, start, end)] of the trampolines this image has


def _preempt_tramp(ret):
    """The trampoline ret returns into, or None (their addresses looked up once)."""
    global _tramp_ranges
    if _tramp_ranges is None:
        _tramp_ranges = []
        for name in PREEMPT_TRAMPS:
            lo, hi = _sym_addr(name), _sym_addr(name + "_end")
            if lo is not None and hi is not None:
                _tramp_ranges.append((name, lo, hi))
    for name, lo, hi in _tramp_ranges:
        if lo < ret <= hi:
            return name
    return None


def _func_start(pc):
    sym = _symbol(pc)
    if "+0x" not in sym:
        return None
    return pc - int(sym.rsplit("+0x", 1)[1], 16)


def _a64_insn(addr):
    return int.from_bytes(bytes(gdb.selected_inferior().read_memory(addr, 4)), "little")


def _a64_ends_block(i):
    return ((i & 0xfffffc1f) in (0xd65f0000, 0xd61f0000) or (i & 0xfc000000) == 0x14000000
            or i == 0xd69f03e0)


def _unrecorded_ret(tramp, rec):
    """The return address of the code the trampoline interrupted when that code had no
    frame record on the chain (a frameless leaf, or in its prologue or epilogue), as
    the kernel's arch_frame_unrecorded_ret finds it; None when it had one."""
    if tramp == "a64_preempt_tramp":
        # its frame: the record, x0..x30 at 16, the interrupted pc at 272
        return _unrecorded_ret_regs(_u64(rec + 272), None, _u64(rec + 16 + 8 * 30))
    # x86-64 and hosted: {rbp, rip + 1} at rec, the interrupted rip at rec + 16, its
    # rsp just above (plus the red zone the hosted trampoline steps over)
    return _unrecorded_ret_regs(_u64(rec + 16),
                                rec + 24 + (128 if tramp == "host_preempt_tramp" else 0), None)


def _unrecorded_ret_regs(pc, sp, x30):
    """The return address of the code at pc (with that sp on x86-64, that x30 on
    aarch64) when its function has no frame record on the chain yet or any more;
    None when it has one."""
    if x30 is not None:
        start = _func_start(pc)
        if start is None or pc % 4:
            return None
        if pc == start:
            return x30
        stored, set_fp = False, None
        for k in range(16):
            i = _a64_insn(start + 4 * k)
            if not stored and (i & A64_PAIR_MASK) in A64_STP_FP_LR:
                stored = True
            elif stored and (i & A64_ADD_MASK) == A64_ADD_FP_SP:
                set_fp = start + 4 * k
                break
            if _a64_ends_block(i):
                break
        if set_fp is None or pc <= set_fp or (_a64_insn(pc) & 0xfffffc1f) == 0xd65f0000:
            return x30
        a = pc
        while a > set_fp + 4 and pc - a < 4 * 8:
            i = _a64_insn(a - 4)
            if (i & A64_PAIR_MASK) in A64_LDP_FP_LR:
                return x30
            if _a64_ends_block(i):
                break
            a -= 4
        return None
    rip, rsp = pc, sp
    start = _func_start(rip)
    if start is None:
        return None
    code = bytes(gdb.selected_inferior().read_memory(start, 4))
    if rip == start or code != b"\x55\x48\x89\xe5":
        return _u64(rsp)		# frameless, or not started: the return at sp
    if rip == start + 1:
        return _u64(rsp + 8)		# between push %rbp and mov %rsp,%rbp
    at = bytes(gdb.selected_inferior().read_memory(rip, 2))
    if at[0] == 0xc3 or at == b"\xf3\xc3":
        return _u64(rsp)		# at its ret, after the epilogue
    return None


def _walk(pc, fp, lo, hi, upwards=True):
    """Frames from pc and the frame-record chain at fp, inside [lo, hi), each record
    above the last (upwards; a running CPU's chain may go from its interrupt stack
    to the goroutine's, anywhere: then only a record that repeats stops it). After
    the record a preemption trampoline planted, the interrupted code's caller when
    that code had no record of its own (a preempted frameless leaf)."""
    frames = [pc]
    prev = None
    for _ in range(MAX_FRAMES - 1):
        if fp == 0 or fp % 8 or not (lo <= fp < hi - 16):
            break
        try:
            nfp, ret = _u64(fp), _u64(fp + 8)
        except gdb.MemoryError:
            break
        if ret == 0:
            break
        frames.append(ret)
        tramp = _preempt_tramp(prev) if prev is not None else None
        if tramp is not None:
            try:
                leaf_ret = _unrecorded_ret(tramp, fp)
            except gdb.MemoryError:
                leaf_ret = None
            if leaf_ret and _symbol(leaf_ret - 1) != "?":
                frames.append(leaf_ret)
        prev = ret
        if nfp == fp or (upwards and nfp < fp):
            break
        fp = nfp
    return frames


def _print_frames(frames):
    """Like the kernel's dumps: a return address is named by the call before it (the
    symbol of the byte before), with its own offset."""
    for i, pc in enumerate(frames):
        sym = _symbol(pc - 1 if i else pc)
        if i and "+0x" in sym:
            fn, off = sym.rsplit("+0x", 1)
            sym = "%s+0x%x" % (fn, int(off, 16) + 1)
        print("  #%d 0x%016x %s" % (i, pc, sym))


def _vcpu_thread(cpu):
    """The gdb thread of the vCPU the kernel calls CPU `cpu` (its hardware id is
    QEMU's vCPU index here: APIC id on q35, MPIDR Aff0 on virt)."""
    hwid = int(gdb.parse_and_eval("cpus[%d].hwid" % cpu))
    index = hwid & 0xff
    for t in gdb.selected_inferior().threads():
        if t.num == index + 1:
            return t
    return None


def _hosted_running_error(n):
    return gdb.GdbError("goroutine %s is running: on the hosted platform its backtrace "
                        "is its CPU thread's (thread apply all bt)" % n)


class InfoGoroutines(gdb.Command):
    """List the goroutines: id, state, wait reason, CPU, start function."""

    def __init__(self):
        super().__init__("info goroutines", gdb.COMMAND_STATUS)

    def invoke(self, arg, from_tty):
        n = 0
        for g in _goroutines():
            state, st = _status(g)
            what = state
            if st == 3 and int(g["wait_reason"]) != 0:
                what += " (%s)" % g["wait_reason"].string()
            cpu = _cpu_of(g) if st == 2 else None
            where = " on cpu %d" % cpu if cpu is not None else ""
            fn = _symbol(int(g["fn"])).split("+")[0] if int(g["fn"]) else "?"
            print("  goroutine %d: %s%s, started at %s" % (int(g["id"]), what, where, fn))
            n += 1
        print("%d goroutines" % n)


class Goroutine(gdb.Command):
    """goroutine N bt: goroutine N's backtrace."""

    def __init__(self):
        super().__init__("goroutine", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        words = arg.split()
        if len(words) != 2 or words[1] != "bt" or not words[0].isdigit():
            raise gdb.GdbError("usage: goroutine N bt")
        g = _find(int(words[0]))
        if g is None:
            raise gdb.GdbError("no goroutine %s (info goroutines lists them)" % words[0])
        state, st = _status(g)
        lo, hi = int(g["stack"]["base"]), int(g["stack"]["top"])
        print("goroutine %d [%s]:" % (int(g["id"]), state))
        if st == 2 and _cpu_of(g) is not None:
            if gdb.lookup_global_symbol("host_cpus") is not None:
                raise _hosted_running_error(words[0])
            t = _vcpu_thread(_cpu_of(g))
            if t is None:
                raise gdb.GdbError("goroutine %s runs on cpu %d, which has no gdb thread"
                                   % (words[0], _cpu_of(g)))
            old = gdb.selected_thread()
            t.switch()
            try:
                frame = gdb.newest_frame()
                pc = int(frame.pc())
                # (x29 is a signed long to gdb: a kernel address reads negative)
                fp = int(gdb.parse_and_eval("$x29" if _arch() == "aarch64" else "$rbp")) % (1 << 64)
                # stopped inside the exception vector table: the handler has built no
                # frame record yet, and the interrupted pc is only in ELR_EL1 (a
                # call-free goroutine's own function is in no record at all); on
                # x86-64 it is on the stack, in an entry stub (_x86_entry_rip)
                # the code at the interrupted pc (or at pc) may have no frame record
                # on the chain (a frameless leaf): its caller from the registers
                sp = int(gdb.parse_and_eval("$sp" if _arch() == "aarch64" else "$rsp")) % (1 << 64)
                x30 = int(gdb.parse_and_eval("$x30")) % (1 << 64) if _arch() == "aarch64" else None
                leaf_ret = None
                if _in_vectors(pc):
                    elr = int(gdb.parse_and_eval("$ELR_EL1")) % (1 << 64)
                    leaf_ret = _unrecorded_ret_regs(elr, None, x30)
                elif _arch() == "x86_64":
                    entry = _x86_entry_rip(pc, sp)
                    elr = entry[0] if entry else None
                    leaf_ret = (_unrecorded_ret_regs(entry[0], entry[1], None) if entry
                                else _unrecorded_ret_regs(pc, sp, None))
                else:
                    elr = None
                    leaf_ret = _unrecorded_ret_regs(pc, None, x30)
            except gdb.MemoryError:
                elr = leaf_ret = None
            finally:
                old.switch()
            # the CPU may be in an interrupt handler on its own stack: walk anywhere
            frames = _walk(pc, fp, 0, 1 << 64, upwards=False)
            if elr is not None:
                frames = [pc, elr + 1] + frames[1:]	# (named by the byte before)
            if leaf_ret and _symbol(leaf_ret - 1) != "?":
                at = 2 if elr is not None else 1
                frames = frames[:at] + [leaf_ret] + frames[at:]
            _print_frames(frames)
            return
        elif st == 4:
            raise gdb.GdbError("goroutine %s is dead" % words[0])
        else:
            ctx = g["ctx"]
            if _arch() == "aarch64":
                pc, fp = int(ctx["lr"]), int(ctx["fp"])
            else:
                pc, fp = int(ctx["rip"]), int(ctx["rbp"])
        _print_frames(_walk(pc, fp, lo, hi))


InfoGoroutines()
Goroutine()
