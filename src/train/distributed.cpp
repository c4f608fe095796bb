// train/distributed.cpp — see distributed.h.
#include "train/distributed.h"

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <cstdlib>

#include "core/error.h"

#ifdef BITLM_HAVE_MPI
#include <mpi.h>
#endif

namespace bitlm {
namespace {

// The launchers' own variables (OpenMPI's mpirun, MPICH's hydra): MPI_Init outside a launcher
// would start a singleton runtime, slow and pointless for one process.
int launcher_world_size() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"})
    if (const char* v = std::getenv(var)) return std::max(1, std::atoi(v));
  return 1;
}

}  // namespace

Distributed& Distributed::world() {
  static Distributed d;
  return d;
}

Distributed::Distributed() {
  if (launcher_world_size() == 1) return;
#ifdef BITLM_HAVE_MPI
  MPI_Init(nullptr, nullptr);
  mpi_ = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
#else
  throw UserError(fmt::format("started by an MPI launcher with {} processes, but this bitlm was built without "
                              "MPI (install libopenmpi-dev and rebuild)", launcher_world_size()));
#endif
}

Distributed::~Distributed() {
#ifdef BITLM_HAVE_MPI
  int finalized = 0;
  if (mpi_ && MPI_Finalized(&finalized) == MPI_SUCCESS && !finalized) MPI_Finalize();
#endif
}

// Reduce-scatter then all-gather, by hand: rank k receives block k of every rank (all-to-all),
// sums the N copies as a pairwise tree in rank order, and the sums are gathered back to everyone.
void Distributed::sum_pairwise(std::span<float> buf) {
  if (size_ == 1) return;
#ifdef BITLM_HAVE_MPI
  const size_t n = size_t(size_), block = (buf.size() + n - 1) / n;
  BITLM_CHECK(block <= size_t(INT_MAX), "{} gradient elements per rank exceed MPI's int counts", block);
  send_.assign(block * n, 0.0f);
  std::copy(buf.begin(), buf.end(), send_.begin());
  recv_.resize(block * n);
  MPI_Alltoall(send_.data(), int(block), MPI_FLOAT, recv_.data(), int(block), MPI_FLOAT, MPI_COMM_WORLD);
  for (size_t r = 0; r < n; ++r) blocks_.push(std::span<const float>(recv_).subspan(r * block, block));
  const std::vector<float>& mine = blocks_.finish();
  MPI_Allgather(mine.data(), int(block), MPI_FLOAT, recv_.data(), int(block), MPI_FLOAT, MPI_COMM_WORLD);
  std::copy(recv_.begin(), recv_.begin() + std::ptrdiff_t(buf.size()), buf.begin());
#endif
}

double Distributed::sum_pairwise(double x) {
  if (size_ == 1) return x;
  std::vector<double> all(size_t(size_), 0.0);
#ifdef BITLM_HAVE_MPI
  MPI_Allgather(&x, 1, MPI_DOUBLE, all.data(), 1, MPI_DOUBLE, MPI_COMM_WORLD);
#endif
  PairwiseSum<double> sum;
  for (const double& v : all) sum.push({&v, 1});
  return sum.finish()[0];
}

bool Distributed::any(bool flag) {
  if (size_ == 1) return flag;
  int in = flag ? 1 : 0, out = in;
#ifdef BITLM_HAVE_MPI
  MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_LOR, MPI_COMM_WORLD);
#endif
  return out != 0;
}

void Distributed::abort(const std::string& message, int exit_code) {
  fmt::print(stderr, "bitlm: rank {}: {}\n", rank_, message);
#ifdef BITLM_HAVE_MPI
  if (mpi_) MPI_Abort(MPI_COMM_WORLD, exit_code);
#endif
  std::exit(exit_code);
}

}  // namespace bitlm
