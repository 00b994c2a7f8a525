// SPDX-License-Identifier: GPL-2.0
/*
 * Loading and unloading toytcp.ko: an open socket pins the module, the
 * module unloads cleanly once its sockets are gone, and 20 load/use/unload
 * rounds leak neither sockets nor slab memory.  Needs TOYTCP_KO (the path
 * of toytcp.ko); leaves the module loaded.
 */
#define TT_MODULE_LOADER	/* loads $TOYTCP_KO itself */
#include "toytcp_test.h"

#include <dirent.h>

#define LO "127.0.0.1"
#define ROUNDS 20
#define SLAB_SLACK_KB 4096

static const char *ko(void)
{
	return getenv("TOYTCP_KO");
}

static bool loaded(void)
{
	return access("/sys/module/toytcp", F_OK) == 0;
}

static int mod_load(const char *params)
{
	int fd = open(ko(), O_RDONLY | O_CLOEXEC), r, e;

	if (fd < 0)
		return -1;
	r = syscall(__NR_finit_module, fd, params, 0);
	e = errno;
	close(fd);
	errno = e;
	return r;
}

static int mod_unload(void)
{
	return syscall(__NR_delete_module, "toytcp", O_NONBLOCK);
}

/* The module's reference count (/sys/module/toytcp/refcnt), -1 if none. */
static long mod_refs(void)
{
	FILE *f = fopen("/sys/module/toytcp/refcnt", "r");
	long v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/*
 * Wait for LiveSockets to reach want; returns the last value read.  At 0,
 * wait as well (in the same time) for the last socket's module reference:
 * a socket leaves LiveSockets in its destructor, and sk_prot_free() drops
 * its reference on the module only after that, in the same RCU callback,
 * so a delete_module() right after LiveSockets reads 0 can still find the
 * module in use.  A reference that stays is left for delete_module() to
 * find.
 */
static long live_wait(long want, int timeout_ms)
{
	long long end = tt_now_ms() + timeout_ms;
	long v;

	for (;;) {
		v = tt_cnt(TT_TOYTCP, "LiveSockets");
		if (v == want && (want || mod_refs() <= 0))
			return v;
		if (tt_now_ms() > end) {
			if (v == want)
				fprintf(stderr, "# LiveSockets %ld, but the module's refcnt stays at %ld\n",
					v, mod_refs());
			return v;
		}
		tt_msleep(20);
	}
}

static long meminfo_kb(const char *key)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)) && line[strlen(key)] == ':') {
			v = strtol(line + strlen(key) + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/*
 * Shrink every slab cache (SLUB's /sys/kernel/slab/NAME/shrink): empty
 * slabs go back, and on a KASAN kernel so do the freed objects its
 * quarantine holds (kasan_cache_shrink()), up to 1/32 of RAM that would
 * otherwise count as Slab.  Objects still allocated stay.  Aliases of
 * merged caches are links: each cache once.
 */
static void slab_shrink_all(void)
{
	DIR *d = opendir("/sys/kernel/slab");
	struct dirent *e;
	char path[512];
	int fd;

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink",
			 e->d_name);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (write(fd, "1", 1) < 0)
			perror(path);
		close(fd);
	}
	closedir(d);
}

static long slab_kb(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);

	sync();
	if (fd >= 0) {
		if (write(fd, "3\n", 2) < 0)
			perror("drop_caches");
		close(fd);
	}
	slab_shrink_all();
	tt_msleep(200);
	return meminfo_kb("Slab");
}

/* Name of a slab cache with "toytcp" in it, or NULL. */
static const char *toytcp_slab(char *buf, size_t len)
{
	char line[512];
	FILE *f = fopen("/proc/slabinfo", "r");
	const char *res = NULL;

	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		char name[128];

		if (sscanf(line, "%127s", name) == 1 && strcasestr(name, "toytcp")) {
			snprintf(buf, len, "%s", name);
			res = buf;
			break;
		}
	}
	fclose(f);
	return res;
}

/* ---- kernel log ---- */

struct klog {
	int fd;
	char *buf;
	size_t len, cap;
};

static void klog_open(struct klog *k)
{
	k->fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (k->fd >= 0)
		lseek(k->fd, 0, SEEK_END);
	k->cap = 1 << 20;
	k->buf = calloc(1, k->cap);
	k->len = 0;
}

/* Append the messages logged since the last call. */
static const char *klog_read(struct klog *k)
{
	char rec[8192];

	if (k->fd < 0 || !k->buf)
		return "";
	for (;;) {
		ssize_t n = read(k->fd, rec, sizeof(rec) - 1);
		char *msg, *nl;

		if (n < 0 && errno == EPIPE)
			continue;
		if (n <= 0)
			break;
		rec[n] = 0;
		msg = strchr(rec, ';');
		if (!msg)
			continue;
		msg++;
		nl = strchr(msg, '\n');
		if (nl)
			nl[1] = 0;
		if (k->len + strlen(msg) + 1 < k->cap) {
			memcpy(k->buf + k->len, msg, strlen(msg));
			k->len += strlen(msg);
			k->buf[k->len] = 0;
		}
	}
	return k->buf;
}

static int count_str(const char *hay, const char *needle)
{
	int n = 0;

	while ((hay = strstr(hay, needle))) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

/* The first line that reports a kernel problem, or NULL. */
static const char *klog_problem(const char *log, char *out, size_t len)
{
	static const char *const bad[] = {
		"BUG:", "kernel BUG", "WARNING:", "Oops", "general protection",
		"Call Trace", "still has objects", "refcount_t", "corruption",
		"Poison overwritten", "Redzone", "Object already free", "KFENCE",
		"leak", "use-after-free", "double free", "INFO: ",
	};
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *p = strstr(log, bad[i]), *s, *e;

		if (!p)
			continue;
		for (s = p; s > log && s[-1] != '\n'; s--)
			;
		e = strchr(p, '\n');
		snprintf(out, len, "%.*s", (int)(e ? e - s : (long)strlen(s)), s);
		return out;
	}
	return NULL;
}

#define EXPECT_KLOG_CLEAN(k) do {					\
	char __l[512];							\
	const char *__p = klog_problem(klog_read(k), __l, sizeof(__l)); \
	EXPECT_EQ(NULL, __p) TH_LOG("kernel log: %s", __p);		\
} while (0)

/* ---- fixture ---- */

FIXTURE(mod) {
	struct klog k;
	long tw0;
};

FIXTURE_SETUP(mod)
{
	long v;

	ASSERT_NE(NULL, ko()) TH_LOG("TOYTCP_KO is not set");
	ASSERT_EQ(0, access(ko(), R_OK)) TH_LOG("%s: %s", ko(), strerror(errno));
	ASSERT_EQ(0, tt_fresh_netns());
	if (!loaded())
		ASSERT_EQ(0, mod_load("")) TH_LOG("insmod: %s", strerror(errno));
	self->tw0 = tt_param_get("tw_timeout_ms");
	klog_open(&self->k);
	/* Sockets of earlier tests may still be dying with their netns. */
	ASSERT_EQ(0, tt_param_set("tw_timeout_ms", 200));
	v = live_wait(0, 30000);
	ASSERT_EQ(0, v) TH_LOG("LiveSockets stays at %ld with no socket open", v);
}

FIXTURE_TEARDOWN(mod)
{
	if (!loaded() && mod_load(""))
		TH_LOG("cannot reload %s: %s", ko(), strerror(errno));
	if (self->tw0 > 0)
		tt_param_set("tw_timeout_ms", self->tw0);
	free(self->k.buf);
}

/* An open socket pins the module; once closed, rmmod and insmod work. */
TEST_F_TIMEOUT(mod, rmmod_fails_while_socket_open, 120)
{
	struct sockaddr_in a = tt_sin(AF_TOYTCP, LO, 5000);
	const char *log;
	char name[128];
	int s, r;

	s = tt_socket(TT_TOYTCP);
	ASSERT_LE(0, s);
	r = mod_unload();
	EXPECT_EQ(-1, r);
	EXPECT_TRUE(errno == EWOULDBLOCK || errno == EBUSY)
		TH_LOG("delete_module: %s", strerror(errno));
	ASSERT_TRUE(loaded()) TH_LOG("module unloaded under an open socket");
	/* The socket still works. */
	EXPECT_EQ(0, bind(s, TT_SA(&a), sizeof(a)));
	EXPECT_EQ(0, listen(s, 4));
	EXPECT_EQ(TT_LISTEN, tt_lookup(TT_TOYTCP, &a, NULL, NULL));

	EXPECT_EQ(0, close(s));
	EXPECT_EQ(0, live_wait(0, 5000));
	ASSERT_EQ(0, mod_unload()) TH_LOG("delete_module: %s", strerror(errno));
	EXPECT_FALSE(loaded());
	EXPECT_NE(0, access("/proc/thread-self/net/toytcp", F_OK));
	EXPECT_NE(0, access("/proc/thread-self/net/toytcp_snmp", F_OK));
	EXPECT_EQ(NULL, toytcp_slab(name, sizeof(name))) TH_LOG("slab cache %s", name);
	EXPECT_EQ(-1, socket(AF_TOYTCP, SOCK_STREAM, 0));
	EXPECT_EQ(EAFNOSUPPORT, errno);

	ASSERT_EQ(0, mod_load("")) TH_LOG("insmod: %s", strerror(errno));
	s = tt_socket(TT_TOYTCP);
	EXPECT_LE(0, s);
	close(s);

	log = klog_read(&self->k);
	EXPECT_EQ(1, count_str(log, "toytcp: unloaded")) TH_LOG("log: %s", log);
	EXPECT_EQ(1, count_str(log, "toytcp: loaded (AF_TOYTCP=19)")) TH_LOG("log: %s", log);
	EXPECT_KLOG_CLEAN(&self->k);
}

/*
 * rmmod while closed connections linger (TIME_WAIT orphans): either it
 * waits for them (EBUSY/EWOULDBLOCK) or it cleans them up; either way the
 * kernel stays healthy.
 */
TEST_F_TIMEOUT(mod, rmmod_with_time_wait_orphans_is_safe, 90)
{
	struct tt_ep a, b;
	struct tt_conn k;
	char name[128];
	int r, err;

	/* Long enough to try rmmod while the orphans exist, short enough
	 * not to wait long if the module waits for them. */
	ASSERT_EQ(0, tt_param_set("tw_timeout_ms", 3000));
	err = tt_pair(&k, -1, TT_TOYTCP, NULL, 0, -1, TT_TOYTCP, LO, 5000);
	ASSERT_EQ(0, err) TH_LOG("connect: %s", strerror(err));
	tt_ep_init(&a, k.c, 1, 100000, 2, 100000);
	tt_ep_init(&b, k.s, 2, 100000, 1, 100000);
	tt_ep_pair(&a, &b);
	EXPECT_EQ(0, a.err) TH_LOG("%s", a.msg);
	EXPECT_EQ(0, b.err) TH_LOG("%s", b.msg);
	tt_conn_close(&k);
	tt_msleep(300);

	r = mod_unload();
	if (r) {
		EXPECT_TRUE(errno == EWOULDBLOCK || errno == EBUSY)
			TH_LOG("delete_module: %s", strerror(errno));
		ASSERT_TRUE(loaded());
		EXPECT_EQ(0, live_wait(0, 3000 + 10000));
		ASSERT_EQ(0, mod_unload()) TH_LOG("delete_module: %s", strerror(errno));
	}
	EXPECT_FALSE(loaded());
	EXPECT_EQ(NULL, toytcp_slab(name, sizeof(name))) TH_LOG("slab cache %s", name);
	ASSERT_EQ(0, mod_load("")) TH_LOG("insmod: %s", strerror(errno));
	EXPECT_KLOG_CLEAN(&self->k);
}

/* 20 rounds of load, connect, transfer, close, unload: nothing leaks. */
TEST_F_TIMEOUT(mod, load_unload_20_times_no_leak, 600)
{
	int loads = 0, unloads = 0, i;
	long slab0 = 0, slab1, v;
	const char *log;
	char name[128];

	for (i = -1; i < ROUNDS; i++) {
		struct tt_ep a, b;
		struct tt_conn k;
		int err;

		if (loaded()) {
			v = live_wait(0, 10000);
			ASSERT_EQ(0, v) TH_LOG("round %d: LiveSockets %ld", i, v);
			ASSERT_EQ(0, mod_unload())
				TH_LOG("round %d: delete_module: %s", i, strerror(errno));
			unloads++;
			ASSERT_FALSE(loaded());
			ASSERT_EQ(NULL, toytcp_slab(name, sizeof(name)))
				TH_LOG("round %d: slab cache %s left after unload", i, name);
		}
		if (i == 0)	/* after one warm-up round */
			slab0 = slab_kb();
		ASSERT_EQ(0, mod_load("tw_timeout_ms=200"))
			TH_LOG("round %d: insmod: %s", i, strerror(errno));
		loads++;
		ASSERT_EQ(200, tt_param_get("tw_timeout_ms"));
		ASSERT_EQ(0, tt_cnt(TT_TOYTCP, "LiveSockets"));

		err = tt_pair(&k, -1, TT_TOYTCP, NULL, 0, -1, TT_TOYTCP, LO, 5000);
		ASSERT_EQ(0, err) TH_LOG("round %d: connect: %s", i, strerror(err));
		EXPECT_LE(3, tt_cnt(TT_TOYTCP, "LiveSockets"));
		tt_ep_init(&a, k.c, i + 100, 32768, i + 200, 32768);
		tt_ep_init(&b, k.s, i + 200, 32768, i + 100, 32768);
		tt_ep_pair(&a, &b);
		EXPECT_EQ(0, a.err) TH_LOG("round %d: %s", i, a.msg);
		EXPECT_EQ(0, b.err) TH_LOG("round %d: %s", i, b.msg);
		tt_conn_close(&k);
	}
	v = live_wait(0, 10000);
	ASSERT_EQ(0, v) TH_LOG("LiveSockets %ld", v);
	ASSERT_EQ(0, mod_unload()) TH_LOG("delete_module: %s", strerror(errno));
	unloads++;
	slab1 = slab_kb();
	EXPECT_GE(SLAB_SLACK_KB, slab1 - slab0)
		TH_LOG("Slab grew from %ld kB to %ld kB over %d rounds",
		       slab0, slab1, ROUNDS);
	TH_LOG("Slab %ld kB -> %ld kB", slab0, slab1);
	ASSERT_EQ(0, mod_load("")) TH_LOG("insmod: %s", strerror(errno));
	loads++;

	log = klog_read(&self->k);
	EXPECT_EQ(loads, count_str(log, "toytcp: loaded (AF_TOYTCP=19)"));
	EXPECT_EQ(unloads, count_str(log, "toytcp: unloaded"));
	EXPECT_KLOG_CLEAN(&self->k);
}

TEST_HARNESS_MAIN
