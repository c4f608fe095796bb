// train/distributed.h — data-parallel training across processes: `mpirun -np N bitlm train ...`.
// Every rank holds the whole model and the same parameters; each takes 1/N of every batch's
// sequences, and the gradients are summed over ranks before the (identical) optimizer step.
//
// The sums are deterministic and the same on every rank: the ranks' values are added as one
// pairwise tree in rank order (train/pairwise_sum.h), whatever MPI's own reduction would do, so
// every rank applies bit-identical updates. Each rank sums its sequences' gradients with the same
// tree; when batch_size / N is a power of two the N-rank sum is then bit-identical to one process
// summing all the sequences (docs/training.md: otherwise they agree to float rounding).
//
// MPI is optional at build time (BITLM_HAVE_MPI, set by CMake when it finds MPI). MPI is
// initialised only when a launcher started the process with more than one rank
// (OMPI_COMM_WORLD_SIZE or PMI_SIZE > 1); otherwise, and in builds without MPI, world() is one process of rank 0 and
// every operation is the identity.
#pragma once
#include <span>
#include <string>
#include <vector>

#include "train/pairwise_sum.h"

namespace bitlm {

class Distributed {
 public:
  // The process group, set up on the first call (MPI_Init) and torn down at exit (MPI_Finalize).
  // UserError if a launcher asks for several processes and this build has no MPI.
  static Distributed& world();

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }

  // buf <- sum over ranks of buf, one pairwise tree in rank order. Same length on every rank.
  void sum_pairwise(std::span<float> buf);
  double sum_pairwise(double x);
  // True on every rank if `flag` is true on any (a stop signal may reach the ranks at different steps).
  bool any(bool flag);
  // Ends every rank with `exit_code` after printing `message`: an error on one rank would
  // otherwise leave the others waiting in a collective forever.
  [[noreturn]] void abort(const std::string& message, int exit_code);

  Distributed(const Distributed&) = delete;
  Distributed& operator=(const Distributed&) = delete;
  ~Distributed();

 private:
  Distributed();
  int rank_ = 0, size_ = 1;
  bool mpi_ = false;
  std::vector<float> send_, recv_;  // scratch of the gradient sum, kept between steps
  PairwiseSum<float> blocks_;
};

}  // namespace bitlm
