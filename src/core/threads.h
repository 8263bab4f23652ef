// One thread count for our OpenMP loops and for OpenBLAS. We link the OpenMP
// build of OpenBLAS, so both share one pool and never oversubscribe the cores.
#pragma once

namespace transformer {

// n <= 0 means all hardware threads.
void set_num_threads(int n);
int num_threads();

}  // namespace transformer
