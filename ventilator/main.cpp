#include "ventilator/ventilator.hpp"

int main(int argc, char** argv) {
    return sluice::ventilator::ventilator_main(argc, argv);
}
