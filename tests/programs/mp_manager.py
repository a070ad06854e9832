"""multiprocessing.Manager(): an AF_UNIX listener in a server process,
proxies connecting to it from this one."""
import multiprocessing as mp
if __name__ == "__main__":
    with mp.Manager() as m:
        d = m.dict(); l = m.list()
        d["a"] = 1; l.append(5); l.append(7)
        print(dict(d), list(l))
