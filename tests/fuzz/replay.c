// SPDX-License-Identifier: GPL-2.0
/*
 * Replays files through the fuzz target without libFuzzer: the regression
 * run of the committed corpus in `make test`. Usage: config-replay FILE|DIR...
 * Each file runs in a child process, so that a broken property (abort) or a
 * sanitizer report fails that file alone. Prints "PASS: FILE" or
 * "FAIL: FILE: why" per file, then "N passed, M failed".
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int passed, failed;

static void result(const char *path, const char *why)
{
	if (why) {
		printf("FAIL: %s: %s\n", path, why);
		failed++;
	} else {
		printf("PASS: %s\n", path);
		passed++;
	}
	fflush(stdout);
}

static char *read_all(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long len;

	if (!f)
		return NULL;
	if (!fseek(f, 0, SEEK_END) && (len = ftell(f)) >= 0 &&
	    !fseek(f, 0, SEEK_SET)) {
		buf = malloc(len + 1);
		if (buf && fread(buf, 1, len, f) != (size_t)len) {
			free(buf);
			buf = NULL;
		}
		*size = len;
	}
	fclose(f);
	return buf;
}

static void run_file(const char *path)
{
	char why[128];
	size_t size = 0;
	char *data = read_all(path, &size);
	pid_t pid;
	int status;

	if (!data) {
		snprintf(why, sizeof(why), "cannot read: %s", strerror(errno));
		result(path, why);
		return;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		LLVMFuzzerTestOneInput((const uint8_t *)data, size);
		free(data);
		exit(0); /* exit(), not _exit(): the leak check runs at exit */
	}
	free(data);
	if (pid < 0 || waitpid(pid, &status, 0) != pid) {
		result(path, "cannot run a child process");
		return;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		result(path, NULL);
		return;
	}
	if (WIFEXITED(status))
		snprintf(why, sizeof(why), "exit status %d (see above)",
			 WEXITSTATUS(status));
	else
		snprintf(why, sizeof(why), "killed by signal %d (see above)",
			 WTERMSIG(status));
	result(path, why);
}

static int skip_dots(const struct dirent *de)
{
	return de->d_name[0] != '.';
}

static void run_path(const char *path)
{
	struct dirent **des;
	struct stat st;
	char child[4096];
	int i, n;

	if (stat(path, &st) || !S_ISDIR(st.st_mode)) {
		run_file(path);
		return;
	}
	n = scandir(path, &des, skip_dots, alphasort);
	if (n < 0) {
		result(path, "cannot list the directory");
		return;
	}
	for (i = 0; i < n; i++) {
		snprintf(child, sizeof(child), "%s/%s", path, des[i]->d_name);
		run_file(child);
		free(des[i]);
	}
	free(des);
}

int main(int argc, char **argv)
{
	int i;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++)
		run_path(argv[i]);
	if (!passed && !failed)
		result("(corpus)", "no input files");
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
