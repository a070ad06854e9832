"""multiprocessing's shared state across processes, with each start method:
a Lock (a POSIX semaphore in /dev/shm), a Value and an Array (a shared
anonymous/file mapping), shared_memory.SharedMemory (shm_open, mmap,
unlink), a Pool, and a Semaphore's timed acquire."""
import multiprocessing as mp
from multiprocessing import shared_memory

def work(lock, val, arr, name, i):
    shm = shared_memory.SharedMemory(name=name)
    for _ in range(200):
        with lock:
            val.value += 1
    arr[i] = i * i
    shm.buf[i] = i + 1
    shm.close()

if __name__ == "__main__":
    for method in ("fork", "spawn", "forkserver"):
        ctx = mp.get_context(method)
        lock = ctx.Lock()
        val = ctx.Value("i", 0, lock=False)
        arr = ctx.Array("d", 4)
        shm = shared_memory.SharedMemory(create=True, size=16)
        ps = [ctx.Process(target=work, args=(lock, val, arr, shm.name, i)) for i in range(4)]
        for p in ps: p.start()
        for p in ps: p.join()
        print(method, val.value, list(arr), bytes(shm.buf[:4]), [p.exitcode for p in ps])
        shm.close(); shm.unlink()
    with mp.get_context("fork").Pool(2) as pool:
        print(sorted(pool.map(abs, range(-5, 5))))
    sem = mp.get_context("fork").Semaphore(2)
    print(sem.acquire(timeout=0.1), sem.acquire(timeout=0.1), sem.acquire(timeout=0.1))
