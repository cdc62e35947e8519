#include "ingest/ingest.hpp"

int main(int argc, char** argv) {
    return sluice::ingest::ingest_main(argc, argv);
}
