/*
 * output.c - outputs written through a temporary renamed into place
 * (output.h).
 *
 * The temporary sits in the final name's directory, so the rename is one
 * step on one file system: readers see the old file or the whole new
 * one.  Only one output is open at a time; its temporary's name is kept
 * where the SIGINT/SIGTERM/SIGHUP handler can remove it (unlink, and for a
 * directory getdents64/unlinkat, all async-signal-safe system calls),
 * after which the signal is raised again with its default action so the
 * exit status still says what happened.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cli.h"
#include "output.h"

/* ---- the temporary a signal removes ------------------------------------- */
static char sig_tmp[PATH_MAX];
static volatile sig_atomic_t sig_armed; /* 1: a file, 2: a directory */

/* Remove the directory at dfd's name `name` in `at` and everything in it,
 * with system calls only (callable from a signal handler). */
static int rmtree_at(int at, const char *name)
{
	char buf[4096];
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	long n;

	if (fd < 0)
		return unlinkat(at, name, 0);
	while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0)
		for (long off = 0; off < n;) {
			struct {
				unsigned long long ino;
				long long off;
				unsigned short reclen;
				unsigned char type;
				char name[];
			} *d = (void *)(buf + off);
			off += d->reclen;
			if (!strcmp(d->name, ".") || !strcmp(d->name, ".."))
				continue;
			/* DT_UNKNOWN: unlinkat tells a directory by EISDIR */
			if (d->type == DT_DIR || (unlinkat(fd, d->name, 0) != 0 && errno == EISDIR))
				rmtree_at(fd, d->name);
		}
	close(fd);
	return unlinkat(at, name, AT_REMOVEDIR);
}

static void remove_tmp(const char *path, int dir)
{
	if (dir)
		rmtree_at(AT_FDCWD, path);
	else
		unlink(path);
}

static void on_signal(int sig)
{
	if (sig_armed)
		remove_tmp(sig_tmp, sig_armed == 2);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void arm(const char *tmp, int dir)
{
	static int installed;

	if (!installed) {
		static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
		struct sigaction sa = { .sa_handler = on_signal }, was;
		sigemptyset(&sa.sa_mask);
		for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
			/* one ignored when we started (a background job's SIGINT) stays so */
			if (sigaction(sigs[i], NULL, &was) == 0 && was.sa_handler != SIG_IGN)
				sigaction(sigs[i], &sa, NULL);
		installed = 1;
	}
	sig_armed = 0;
	strcpy(sig_tmp, tmp); /* callers check the length */
	sig_armed = dir ? 2 : 1;
}

/* ---- the input check ------------------------------------------------------ */
static int same_inode(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

int cli_output_is_input(const char *path, const char *const *inputs, size_t n)
{
	struct stat out, in;
	int std = !path || !strcmp(path, "-");

	if (std ? fstat(STDOUT_FILENO, &out) != 0 || !S_ISREG(out.st_mode) : stat(path, &out) != 0)
		return 0; /* a new file, or a terminal or pipe: no input */
	/* the trace --schema-from names is read too */
	for (size_t i = 0; i <= n; i++) {
		const char *f = i < n ? inputs[i] : cli_schema_from();
		if (!f)
			continue;
		if (!strcmp(f, "-") ? fstat(STDIN_FILENO, &in) == 0 && S_ISREG(in.st_mode) : stat(f, &in) == 0)
			if (same_inode(&in, &out))
				return 1;
	}
	return 0;
}

/* Whether the file `f` ("-": standard input) lies in the directory `dir`
 * (stat'ed) or below it: one of the directories on its real path is
 * dir. */
static int inside(const char *f, const struct stat *dir)
{
	struct stat st;
	char *real, *slash;
	int found = 0;

	if (!strcmp(f, "-") && (fstat(STDIN_FILENO, &st) != 0 || !S_ISREG(st.st_mode)))
		return 0; /* a terminal or pipe: no file to lose */
	if (!(real = realpath(!strcmp(f, "-") ? "/proc/self/fd/0" : f, NULL)))
		return 0; /* cannot be looked at: not in it */
	while (!found && (slash = strrchr(real, '/'))) {
		slash[slash == real] = '\0'; /* the parent; "/" stays */
		found = stat(real, &st) == 0 && same_inode(&st, dir);
		if (slash == real)
			break;
	}
	free(real);
	return found;
}

/* A directory output replaces the old directory whole: refused when an
 * input lies in it (EXIT_USAGE), which the swap would delete. */
static int refuse_dir_input(const char *path, const char *final, const char *const *inputs, size_t n)
{
	struct stat dir;

	if (stat(final, &dir) != 0)
		return 0; /* a new directory: no input in it */
	for (size_t i = 0; i <= n; i++) {
		const char *f = i < n ? inputs[i] : cli_schema_from();
		if (f && inside(f, &dir)) {
			cli_error(path, UINT64_MAX, "the input %s is in the output directory, which the output replaces",
				  cli_shown(f));
			return EXIT_USAGE;
		}
	}
	return 0;
}

/* ---- temporaries ----------------------------------------------------------- */

/* The descriptor the name stands for, or -1 for a name like any other:
 * /dev/stdin, /dev/stdout, /dev/stderr, /dev/fd/N, and N in this
 * process's own descriptor directory however it is reached
 * (/proc/self/fd/N, /proc/PID/fd/N, /proc/thread-self/fd/N).  The shell
 * opened it (>> FILE, 3> FILE): a temporary renamed over the file it is
 * open on would drop what is there and leave the descriptor on the
 * unlinked file. */
static int fd_named(const char *name)
{
	static const char *const std[] = { "/dev/stdin", "/dev/stdout", "/dev/stderr" };
	const char *slash = strrchr(name, '/'), *base = slash ? slash + 1 : name;
	char *dir, *real, want[64];
	long pid = (long)getpid();
	int n, mine;

	for (int i = 0; i < 3; i++)
		if (!strcmp(name, std[i]))
			return i;
	if (!*base || strspn(base, "0123456789") != strlen(base) || strlen(base) > 9)
		return -1;
	n = atoi(base);
	if (slash == name + 7 && !strncmp(name, "/dev/fd", 7))
		return n; /* also where /proc is not mounted */
	if (slash == name)
		dir = strdup("/");
	else
		dir = slash ? strndup(name, (size_t)(slash - name)) : strdup(".");
	real = dir ? realpath(dir, NULL) : NULL;
	free(dir);
	if (!real)
		return -1;
	snprintf(want, sizeof want, "/proc/%ld/fd", pid);
	mine = !strcmp(real, want);
	snprintf(want, sizeof want, "/proc/%ld/task/", pid);
	if (!mine && !strncmp(real, want, strlen(want))) {
		const char *t = real + strlen(want);
		size_t k = strspn(t, "0123456789");
		mine = k && !strcmp(t + k, "/fd");
	}
	free(real);
	return mine ? n : -1;
}

/* path with its symlinks followed, one link at a time (a relative target
 * from the link's directory), so that a link to a descriptor's name is
 * seen as one, and a dangling link is resolved to the file it will create
 * (written through, as a plain create would).  Into *final (malloc'd) the
 * name the output really has, or into *fd the descriptor the name stands
 * for (*final NULL).  0, or -1 with errno. */
static int final_name(const char *path, char **final, int *fd)
{
	char *name = strdup(path), *next, link[PATH_MAX];
	const char *slash;
	struct stat st;
	ssize_t len;
	size_t dn;
	int e;

	*final = NULL;
	for (int hops = 0; name; hops++) {
		if ((*fd = fd_named(name)) >= 0) {
			free(name);
			return 0;
		}
		if (lstat(name, &st) != 0 || !S_ISLNK(st.st_mode)) {
			*final = name; /* a file, or a new one made here */
			return 0;
		}
		if (hops == 40) {
			errno = ELOOP;
			goto fail;
		}
		if ((len = readlink(name, link, sizeof link)) < 0)
			goto fail;
		if ((size_t)len == sizeof link) {
			errno = ENAMETOOLONG;
			goto fail;
		}
		link[len] = '\0';
		slash = strrchr(name, '/');
		dn = link[0] != '/' && slash ? (size_t)(slash - name) + 1 : 0;
		if ((next = malloc(dn + (size_t)len + 1))) {
			memcpy(next, name, dn);
			memcpy(next + dn, link, (size_t)len + 1);
		}
		free(name);
		name = next;
	}
	errno = ENOMEM;
	return -1;
fail:
	e = errno;
	free(name);
	errno = e;
	return -1;
}

/* "DIR/.BASE.XXXXXX" beside final; NULL if too long or out of memory. */
static char *tmp_template(const char *final)
{
	const char *slash = strrchr(final, '/');
	size_t dn = slash ? (size_t)(slash - final) + 1 : 0;
	size_t len = strlen(final) + 9;
	char *t;

	if (len >= sizeof sig_tmp || !(t = malloc(len)))
		return NULL;
	memcpy(t, final, dn);
	snprintf(t + dn, len - dn, ".%s.XXXXXX", final + dn);
	return t;
}

static mode_t create_mode(mode_t full)
{
	mode_t um = umask(0);

	umask(um);
	return full & ~um;
}

static int fail_io(cli_output *o, const char *what)
{
	cli_error(o->path, UINT64_MAX, "%s: %s", what, strerror(errno));
	free(o->final);
	free(o->tmp);
	o->final = o->tmp = NULL;
	return EXIT_IO;
}

static int refuse_input(const char *path, const char *const *inputs, size_t n)
{
	if (!cli_output_is_input(path, inputs, n))
		return 0;
	cli_error(NULL, UINT64_MAX, "%s: the output would overwrite the input",
		  path && strcmp(path, "-") ? path : "(stdout)");
	return EXIT_USAGE;
}

int cli_output_open(cli_output *o, const char *path, const char *const *inputs, size_t n)
{
	struct stat st;
	int code, fd;

	*o = (cli_output){ .path = path, .fd = STDOUT_FILENO };
	if ((code = refuse_input(path, inputs, n)) != 0)
		return code;
	if (!path || !strcmp(path, "-"))
		return 0;
	if (final_name(path, &o->final, &fd) != 0)
		return fail_io(o, "cannot create");
	if (fd == STDOUT_FILENO)
		return 0; /* as -o - */
	if (fd >= 0) {
		/* written where the descriptor is, as standard output is; one
		 * not open for writing fails here, before any work */
		if ((o->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0)
			return fail_io(o, "cannot open");
		if ((fcntl(o->fd, F_GETFL) & O_ACCMODE) == O_RDONLY) {
			close(o->fd);
			o->fd = -1;
			errno = EBADF;
			return fail_io(o, "cannot open");
		}
		return 0;
	}
	if (stat(o->final, &st) == 0 && !S_ISREG(st.st_mode)) {
		/* /dev/null, a FIFO: written as they are, a rename would replace them */
		if ((o->fd = open(o->final, O_WRONLY | O_CLOEXEC)) < 0)
			return fail_io(o, "cannot open");
		return 0;
	}
	if (!(o->tmp = tmp_template(o->final))) {
		errno = ENAMETOOLONG;
		return fail_io(o, "cannot create");
	}
	if ((o->fd = mkostemp(o->tmp, O_CLOEXEC)) < 0)
		return fail_io(o, "cannot create a temporary file beside it");
	arm(o->tmp, 0);
	if (fchmod(o->fd, stat(o->final, &st) == 0 ? st.st_mode & 07777 : create_mode(0666)) != 0) {
		int e = errno;
		cli_output_close(o, 0);
		errno = e;
		return fail_io(o, "cannot set the mode");
	}
	return 0;
}

/* Whether the directory path has nothing in it. */
static int dir_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int empty = 1;

	if (!d)
		return 0;
	while (empty && (e = readdir(d)))
		empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
	closedir(d);
	return empty;
}

int cli_output_open_dir(cli_output *o, const char *path, int force, const char *const *inputs, size_t n)
{
	struct stat st;
	int code, fd;

	*o = (cli_output){ .path = path, .fd = -1, .dir = 1 };
	if (final_name(path, &o->final, &fd) != 0)
		return fail_io(o, "cannot create");
	if (fd >= 0) {
		/* the directory a descriptor is open on would be replaced, not
		 * written through */
		cli_error(path, UINT64_MAX, "names an open descriptor: a directory output wants a directory's name");
		return EXIT_USAGE;
	}
	if ((code = refuse_dir_input(path, o->final, inputs, n)) != 0) {
		free(o->final);
		o->final = NULL;
		return code;
	}
	if (stat(o->final, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			cli_error(path, UINT64_MAX, "exists and is not a directory");
			free(o->final);
			o->final = NULL;
			return EXIT_USAGE;
		}
		if (!force && !dir_empty(o->final)) {
			cli_error(path, UINT64_MAX,
				  "the directory is not empty: give --force to replace it whole, or another -o DIR");
			free(o->final);
			o->final = NULL;
			return EXIT_USAGE;
		}
	}
	if (!(o->tmp = tmp_template(o->final))) {
		errno = ENAMETOOLONG;
		return fail_io(o, "cannot create");
	}
	if (!mkdtemp(o->tmp))
		return fail_io(o, "cannot create a temporary directory beside it");
	arm(o->tmp, 1);
	if (chmod(o->tmp, create_mode(0777)) != 0) {
		int e = errno;
		cli_output_close(o, 0);
		errno = e;
		return fail_io(o, "cannot set the mode");
	}
	return 0;
}

/* Put the new directory o->tmp in place of the existing o->final: the old
 * one is renamed away first, removed once the new one is in. */
static int swap_dir(cli_output *o)
{
	char *old = tmp_template(o->final);
	int code = 0;

	if (!rename(o->tmp, o->final))
		goto done; /* there was none, or an empty one */
	if (errno != ENOTEMPTY && errno != EEXIST)
		goto fail;
	if (!old || !mkdtemp(old) || rename(o->final, old) != 0)
		goto fail; /* renaming a directory over the empty placeholder */
	if (rename(o->tmp, o->final) != 0) {
		int e = errno;
		rename(old, o->final); /* put the old one back */
		errno = e;
		goto fail;
	}
	rmtree_at(AT_FDCWD, old);
	goto done;
fail:
	cli_error(o->path, UINT64_MAX, "cannot put the new directory in place: %s", strerror(errno));
	if (old)
		rmdir(old); /* the placeholder, if it was made */
	code = EXIT_IO;
done:
	free(old);
	return code;
}

int cli_output_close(cli_output *o, int ok)
{
	int code = 0;

	if (o->fd >= 0 && o->fd != STDOUT_FILENO && close(o->fd) != 0 && ok) {
		cli_error(o->path, UINT64_MAX, "writing the output failed: %s", strerror(errno));
		code = EXIT_IO;
		ok = 0;
	}
	o->fd = -1;
	if (o->tmp) {
		if (ok && o->dir)
			code = swap_dir(o);
		else if (ok && rename(o->tmp, o->final) != 0) {
			cli_error(o->path, UINT64_MAX, "cannot put the output in place: %s", strerror(errno));
			code = EXIT_IO;
		}
		if (!ok || code)
			remove_tmp(o->tmp, o->dir);
		sig_armed = 0;
	}
	free(o->tmp);
	free(o->final);
	o->tmp = o->final = NULL;
	return code;
}
