#include "sink/sink.hpp"

int main(int argc, char** argv) {
    return sluice::sink::sink_main(argc, argv);
}
