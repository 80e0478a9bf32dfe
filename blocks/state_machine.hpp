#pragma once
// The StateMachine interface lives with the Raft protocols that drive it; blocks implement it.
#include "protocols/raft/state_machine.hpp"
