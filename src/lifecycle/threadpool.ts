import os from 'node:os'

/**
 * libuv's thread pool (4 threads by default) runs every sharp job and every asynchronous fs call,
 * first come first served. With as many transformations running as the adaptive limit allows
 * (up to 4 x CPUs, plus as many orphans), a stat or a header probe would wait behind them, and
 * fairness between tenants would end at the pool. It is sized to hold them all with room to spare.
 * Only effective before the pool's first use: imported first by the process's first modules.
 */
const wanted = 8 * os.availableParallelism() + 4
if (process.env.UV_THREADPOOL_SIZE === undefined) process.env.UV_THREADPOOL_SIZE = String(Math.min(1024, wanted))
