// Every differentiable op of the engine, by family. Include this one header to use them all.
#pragma once
#include "autograd/generator.h"
#include "autograd/graph.h"
#include "autograd/ops/activation.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/loss.h"
#include "autograd/ops/matmul.h"
#include "autograd/ops/reduce.h"
#include "autograd/ops/shape.h"
#include "autograd/tensor.h"
