"""coreutils `tail -f` follows a file through inotify: the script appends
lines one at a time and reads each back from tail's output before the
next (no timing assumption: tail blocks in read(2) on its inotify
descriptor until the write's IN_MODIFY wakes it; once inotify_init
succeeds tail never falls back to polling, so a missing event hangs
the test). Output is identical natively and in moat."""
import os
import subprocess
import tempfile

d = tempfile.mkdtemp(prefix="tail-f-")
path = os.path.join(d, "log.txt")
with open(path, "w") as f:
    f.write("first\n")
tail = subprocess.Popen(["tail", "-f", "-n", "+1", path],
                        stdout=subprocess.PIPE)
print("tail printed:", tail.stdout.readline().decode().strip())
for i in range(3):
    with open(path, "a") as f:
        f.write("line %d\n" % i)
    print("tail printed:", tail.stdout.readline().decode().strip())
tail.kill()
tail.wait()
os.unlink(path)
os.rmdir(d)
print("done")
