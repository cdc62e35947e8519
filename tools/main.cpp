#include "tools/launcher.hpp"

int main(int argc, char** argv) {
    return sluice::tools::launcher_main(argc, argv);
}
