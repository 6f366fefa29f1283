/*
 * tls.c — per-G thread-local storage: every G owns a thread control block
 * (glibc's struct pthread) and a static TLS area, and the switch points the
 * FS base at the one of the context it enters (tls_set).
 *
 * What a G's block holds.  glibc lays a thread's static TLS out below its
 * TCB (x86-64 is TLS_TCB_AT_TP); _dl_get_tls_static_info gives the size of
 * both together and their alignment, _thread_db_sizeof_pthread the TCB's.
 * _dl_allocate_tls builds the DTV and copies every module's initial TLS
 * image.  The TCB's header (tcbhead_t: stack guard at %fs:0x28, pointer
 * guard at %fs:0x30, multiple_threads) is copied from the creating
 * thread's, then fixed up: the self pointers, a tid of the G's own (glibc
 * uses it as the owner of its internal recursive locks, so it must differ
 * between Gs; raise() asks the kernel for the real one), the list link
 * (a fork child unlinks the forking thread's TCB from glibc's lists), the
 * robust-mutex list head (empty: glibc queues the process-shared robust
 * mutexes a thread holds there), the stack block (glibc sizes alloca's
 * cut-off by it), the rseq area marked unregistered (cpu_id -2: sched_getcpu asks the kernel,
 * since the kernel updates only the M's area), the resolver's __resp and
 * goshim's own g_cur.  A G starts with __ctype_init, as glibc's threads do.
 *
 * Blocks are two pages or more, carved from chunks, and stay with their G
 * struct (which is never freed) across the G's reuses.  The next G on the
 * slot gets fresh images of every module's TLS except libc's own, which is
 * kept: it holds malloc's per-thread cache, which only glibc's real thread
 * exit can release, and would otherwise leak with every thread.  What the
 * next G must not inherit from it is reset at its start (errno, locale).
 * When the exiting G allocated no dynamic TLS and no library was loaded
 * since the runtime started, its DTV stays and goshim copies the images
 * itself (the modules of the startup table); otherwise the DTV and dynamic
 * TLS are freed (_dl_deallocate_tls) and the next G gets new ones.
 * The TCB sits at the end of the block so that the parts a G touches (the
 * TCB header, the TLS right below it) share a page.
 *
 * G1 keeps the main thread's TCB; every M's g0 runs on its kernel thread's
 * own, except M0's, which gets a block of its own since G1 may leave M0.
 */
#include <dlfcn.h>
#include <link.h>
#include <locale.h>
#include <bits/types/res_state.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <asm/prctl.h>
#include <sys/syscall.h>

#include "runtime.h"

#define TCB_HEADER_COPY 0x80    /* tcbhead_t through ssp_base */
#define TCB_SELF 0              /* tcbhead_t.tcb */
#define TCB_DTV 8               /* tcbhead_t.dtv */
#define TCB_SELF2 16            /* tcbhead_t.self */
#define RSEQ_CPU_ID_OFFSET 4    /* struct rseq.cpu_id */
#define RSEQ_CPU_ID_UNREGISTERED (-2)
#define TID_FAKE 0x20000000     /* above any kernel tid, below FUTEX_OWNER_DIED */
#define BLOCKS_PER_CHUNK 64
#define BLOCKS_POPULATED 16     /* blocks committed ahead at a time (mem.c) */
_Static_assert(BLOCKS_PER_CHUNK % BLOCKS_POPULATED == 0, "groups of a chunk");
#define MODULES_MAX 16          /* startup modules re-initialized by goshim */

/* glibc's dtv_t: dtv[-1].counter is the length, dtv[0].counter the
 * generation, dtv[modid] a module's block. */
union dtv {
	size_t counter;
	struct {
		void *val;
		void *to_free;
	} pointer;
};

/* A module with static TLS, as found at startup. */
struct module {
	ptrdiff_t off;          /* block, from the TCB */
	const char *image;
	size_t filesz, memsz;
};

/* A glibc libthread_db field descriptor: size in bits, count, offset. */
struct db_desc {
	uint32_t bits, count, offset;
};

static struct {
	void *(*allocate)(void *tcb);
	void (*deallocate)(void *tcb, bool dealloc_tcb);
	void (*ctype_init)(void);
	void (*call_tls_dtors)(void);
	size_t static_size, align, tcb_size, block_size;
	ptrdiff_t tid_off, list_off, rseq_off, resp_off, gcur_off;
	ptrdiff_t robust_off;   /* struct robust_list_head, 0: not found */
	_Atomic ptrdiff_t stackblock_off; /* stackblock, stackblock_size; 0: unknown */
	bool rseq;
	ptrdiff_t touched_off;  /* lowest byte a new G writes, from the TCB */
	ptrdiff_t libc_off;     /* libc's TLS block, from the TCB */
	size_t libc_size;
	struct module modules[MODULES_MAX]; /* startup modules, libc's left out */
	int nmodules;           /* -1: too many, always use glibc's init */
	unsigned long long adds; /* dl_iterate_phdr's load count at startup */
} tls;

bool tls_fsgsbase RT_HIDDEN;

static void *resolve(const char *name, bool required)
{
	void *p = dlvsym(RTLD_DEFAULT, name, "GLIBC_PRIVATE");
	if (!p)
		p = dlsym(RTLD_DEFAULT, name);
	if (!p && required) {
		rt_print("goshim: per-thread TLS needs ");
		rt_print(name);
		rt_print(" from glibc\n");
		_exit(127);
	}
	return p;
}

static inline char *tp_now(void)
{
	char *tp;
	__asm__("movq %%fs:0, %0" : "=r"(tp));
	return tp;
}

/* Records the startup modules' static TLS; libc's is the one errno is in. */
static int find_modules(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	char *err = arg;
	tls.adds = info->dlpi_adds;
	if (!info->dlpi_tls_data)
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_TLS)
			continue;
		char *lo = info->dlpi_tls_data;
		if (err >= lo && err < lo + ph->p_memsz) {
			tls.libc_off = lo - tp_now();
			tls.libc_size = ph->p_memsz;
		} else if (tls.nmodules >= 0 && tls.nmodules < MODULES_MAX) {
			tls.modules[tls.nmodules++] = (struct module){
				.off = lo - tp_now(),
				.image = (const char *)info->dlpi_addr + ph->p_vaddr,
				.filesz = ph->p_filesz, .memsz = ph->p_memsz };
		} else {
			tls.nmodules = -1;
		}
	}
	return 0;
}

/* glibc exports no offset for the robust list head, but in the main
 * thread's TCB it is the one field that points at itself, followed by the
 * futex offset of a pthread_mutex_t's lock from its list link. */
#define ROBUST_FUTEX_OFFSET (-32L)
static ptrdiff_t find_robust_head(char *tcb)
{
	for (size_t i = TCB_HEADER_COPY; i + 24 <= tls.tcb_size; i += 8) {
		char **p = (char **)(tcb + i);
		if (p[0] == tcb + i && (long)p[1] == ROBUST_FUTEX_OFFSET && p[2] == NULL)
			return (ptrdiff_t)i;
	}
	return 0;
}

/* Learns where glibc keeps a thread's stack block, from a thread glibc
 * created (an M): the pair (stackblock, stackblock_size) whose end is the
 * top of the stack glibc reports for it. */
void tls_learn_stack(pthread_t th, void *lo, size_t size)
{
	if (atomic_load(&tls.stackblock_off))
		return;
	char *tcb = (char *)th, *top = (char *)lo + size;
	for (size_t i = TCB_HEADER_COPY; i + 16 <= tls.tcb_size; i += 8) {
		char **p = (char **)(tcb + i);
		size_t sz = (size_t)p[1];
		if (p[0] && p[0] < tcb && sz >= size && p[0] + sz == top) {
			atomic_store(&tls.stackblock_off, (ptrdiff_t)i);
			return;
		}
	}
}

static void set_stack(char *tcb, const struct stack *s)
{
	ptrdiff_t off = atomic_load_explicit(&tls.stackblock_off, memory_order_relaxed);
	if (!off)
		return;
	char **p = (char **)(tcb + off);
	p[0] = s->lo - s->guard;
	p[1] = (char *)(size_t)(s->hi - s->lo + s->guard);
}

static int read_adds(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	*(unsigned long long *)arg = info->dlpi_adds;
	return 1;
}

/* No library loaded since startup: the startup table is all there is. */
static bool modules_unchanged(void)
{
	unsigned long long adds = 0;
	dl_iterate_phdr(read_adds, &adds);
	return adds == tls.adds && tls.nmodules >= 0;
}

void tls_init(void)
{
	void (*info)(size_t *, size_t *) = resolve("_dl_get_tls_static_info", true);
	tls.allocate = resolve("_dl_allocate_tls", true);
	tls.deallocate = resolve("_dl_deallocate_tls", true);
	tls.ctype_init = resolve("__ctype_init", true);
	tls.call_tls_dtors = resolve("__call_tls_dtors", false);
	const uint32_t *sizeof_pthread = resolve("_thread_db_sizeof_pthread", true);
	const struct db_desc *tid = resolve("_thread_db_pthread_tid", true);
	const struct db_desc *list = resolve("_thread_db_pthread_list", true);
	const ptrdiff_t *rseq_offset = dlsym(RTLD_DEFAULT, "__rseq_offset");
	const unsigned *rseq_size = dlsym(RTLD_DEFAULT, "__rseq_size");
	char *resp = resolve("__resp", true);

	info(&tls.static_size, &tls.align);
	if (tls.align < 64)
		tls.align = 64;
	tls.tcb_size = *sizeof_pthread;
	tls.tid_off = tid->offset;
	tls.list_off = list->offset;
	tls.rseq = rseq_offset && rseq_size && *rseq_size > 0;
	tls.rseq_off = tls.rseq ? *rseq_offset : 0;
	char *tp = tp_now();
	tls.resp_off = resp - tp;
	tls.gcur_off = (char *)&g_cur - tp;
	dl_iterate_phdr(find_modules, &errno);
	tls.robust_off = find_robust_head(tp);
	/* The startup modules' blocks lie right below the TCB, the surplus
	 * for later ones below them. */
	tls.touched_off = tls.libc_size ? tls.libc_off : 0;
	for (int i = 0; i < tls.nmodules; i++)
		if (tls.modules[i].off < tls.touched_off)
			tls.touched_off = tls.modules[i].off;
	if (tls.nmodules < 0)
		tls.touched_off = -(ptrdiff_t)(tls.static_size - tls.tcb_size);
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	tls.block_size = (tls.static_size + tls.align + sizeof(struct __res_state) + page - 1) &
			 ~(page - 1);
	tls_fsgsbase = getauxval(AT_HWCAP2) & 2; /* HWCAP2_FSGSBASE */
}

/* ---------------------------------------------------------------- blocks */

static struct rt_lock block_lock = RT_LOCK_INIT(RANK_ALLOC);
static char *chunk;
static size_t chunk_left;

/* The TCB of a block: at its end, aligned.  The resolver state is at its
 * start, below the static TLS. */
static char *block_tcb(char *b)
{
	uintptr_t t = (uintptr_t)b + tls.block_size - tls.tcb_size;
	return (char *)(t & ~(uintptr_t)(tls.align - 1));
}

/* Commits the pages of n blocks from b that a new G writes: its TCB and
 * the startup modules' TLS below it, not the surplus or resolver state. */
static void block_populate(char *b, int n)
{
	struct iovec iov[BLOCKS_POPULATED];
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	for (int i = 0; i < n; i++, b += tls.block_size) {
		uintptr_t lo = ((uintptr_t)block_tcb(b) + tls.touched_off) & ~(page - 1);
		iov[i] = (struct iovec){ (void *)lo, (size_t)((uintptr_t)b + tls.block_size - lo) };
	}
	mem_populate(iov, n);
}

static char *block_get(void)
{
	lock(&block_lock);
	if (chunk_left == 0) {
		size_t sz = tls.block_size * BLOCKS_PER_CHUNK;
		void *m = mmap(NULL, sz, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (m == MAP_FAILED) {
			unlock(&block_lock);
			return NULL;
		}
		chunk = m;
		chunk_left = BLOCKS_PER_CHUNK;
	}
	char *b = chunk;
	bool populate = chunk_left % BLOCKS_POPULATED == 0;
	chunk += tls.block_size;
	chunk_left--;
	unlock(&block_lock);
	if (populate)
		block_populate(b, BLOCKS_POPULATED);
	return b;
}

/* ---------------------------------------------------------------- setup */

/* Fresh images of the startup modules in a block whose DTV was kept. */
static void reinit_modules(char *tcb)
{
	for (int i = 0; i < tls.nmodules; i++) {
		const struct module *m = &tls.modules[i];
		memcpy(tcb + m->off, m->image, m->filesz);
		memset(tcb + m->off + m->filesz, 0, m->memsz - m->filesz);
	}
}

static int setup(struct g *gp, char *block, bool reused, int tid)
{
	char *tcb = block_tcb(block);
	if (reused && gp->tls_dtv_kept && modules_unchanged()) {
		reinit_modules(tcb);
		*(struct g **)(tcb + tls.gcur_off) = gp;
		set_stack(tcb, &gp->stack);
		return 0;
	}
	char libc_save[tls.libc_size ? tls.libc_size : 1];
	if (reused && tls.libc_size)
		memcpy(libc_save, tcb + tls.libc_off, tls.libc_size);
	memcpy(tcb, tp_now(), TCB_HEADER_COPY);
	*(void **)(tcb + TCB_DTV) = NULL;
	if (!tls.allocate(tcb))
		return -ENOMEM;
	if (reused && tls.libc_size)
		memcpy(tcb + tls.libc_off, libc_save, tls.libc_size);
	*(void **)(tcb + TCB_SELF) = tcb;
	*(void **)(tcb + TCB_SELF2) = tcb;
	*(int *)(tcb + tls.tid_off) = tid;
	void **list = (void **)(tcb + tls.list_off);
	list[0] = list[1] = list;
	if (tls.robust_off) {
		char **robust = (char **)(tcb + tls.robust_off);
		robust[0] = (char *)robust;
		robust[1] = (char *)ROBUST_FUTEX_OFFSET;
		robust[2] = NULL;
	}
	if (tls.rseq)
		*(int32_t *)(tcb + tls.rseq_off + RSEQ_CPU_ID_OFFSET) = RSEQ_CPU_ID_UNREGISTERED;
	*(struct __res_state **)(tcb + tls.resp_off) = (struct __res_state *)block;
	*(struct g **)(tcb + tls.gcur_off) = gp;
	set_stack(tcb, &gp->stack);
	gp->tp = tcb;
	gp->tls_gen = (*(union dtv **)(tcb + TCB_DTV))[0].counter;
	return 0;
}

int tls_setup(struct g *gp)
{
	bool reused = gp->tls_block != NULL;
	if (!reused)
		gp->tls_dtv_kept = false;
	if (!reused && !(gp->tls_block = block_get()))
		return -ENOMEM;
	int err = setup(gp, gp->tls_block, reused, TID_FAKE | gp->ownerid);
	gp->tls_reused = reused;
	return err;
}

void tls_setup_g0(struct g *g0)
{
	char *b = block_get();
	if (!b || setup(g0, b, false, TID_FAKE) != 0)
		rt_throw("tls: no TLS for m0's g0");
}

/* Whether gp's DTV can serve the next G: no dynamic TLS was allocated in
 * it, and it was never extended for a module loaded later. */
static bool dtv_clean(struct g *gp)
{
	union dtv *dtv = *(union dtv **)((char *)gp->tp + TCB_DTV);
	if (dtv[0].counter != gp->tls_gen)
		return false;
	for (size_t i = 1; i <= dtv[-1].counter; i++)
		if (dtv[i].pointer.to_free)
			return false;
	return true;
}

void tls_release(struct g *gp)
{
	gp->tls_dtv_kept = dtv_clean(gp);
	if (!gp->tls_dtv_kept)
		tls.deallocate(gp->tp, false);
}

/* On the G, first thing: what glibc's start_thread does for a thread's
 * TLS, and the reset of what a previous G left in libc's block. */
void tls_start(struct g *gp)
{
	if (gp->tls_reused)
		uselocale(LC_GLOBAL_LOCALE);
	tls.ctype_init();
}

/* On the exiting G: C++ thread_local destructors, before TSD's, as glibc. */
void tls_exit(void)
{
	if (tls.call_tls_dtors)
		tls.call_tls_dtors();
}

void *tls_current(void)
{
	return tp_now();
}

void tls_set_slow(void *tp)
{
	rt_syscall2(SYS_arch_prctl, ARCH_SET_FS, tp);
}
