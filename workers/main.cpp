#include "workers/worker.hpp"

int main(int argc, char** argv) {
    return sluice::workers::worker_main(argc, argv);
}
