// Resolving a network name for summary and graph (see inspect.h).
#include "detectors/pipeline/inspect.h"

#include <algorithm>
#include <filesystem>

#include "autograd/error.h"
#include "autograd/graph.h"
#include "autograd/graph_dot.h"
#include "autograd/ops.h"
#include "detectors/data/fashion_scenes.h"
#include "detectors/pipeline/model_file.h"
#include "detectors/task/zoo.h"
#include "layers/backbone.h"
#include "layers/model_zoo.h"

namespace dg::det {

namespace {
bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string joined(const std::vector<std::string>& v) {
  std::string r;
  for (const std::string& s : v) r += (r.empty() ? "" : ", ") + s;
  return r;
}

Shape input_shape(const InspectOptions& o, int64_t h, int64_t w) {
  check((o.input_h > 0) == (o.input_w > 0), "inspect: give both input sides or neither");
  if (o.input_h > 0) h = o.input_h, w = o.input_w;
  return {1, 3, h, w};
}

Inspected from_task(std::shared_ptr<Task> t, std::string description, Shape input) {
  Inspected r;
  t->eval();
  r.module = t;
  r.description = std::move(description);
  r.input = std::move(input);
  check(r.input[2] % t->size_divisor() == 0 && r.input[3] % t->size_divisor() == 0, "inspect: ", t->kind(),
        " needs input sides that are multiples of ", t->size_divisor(), ", got ", r.input[2], "x", r.input[3]);
  r.forward = [t](const Tensor& x) { return t->forward_outputs(x); };
  return r;
}
}  // namespace

Inspected inspect(const std::string& name, const InspectOptions& o) {
  Generator gen(0);
  if (contains(nn::model_names(), name)) {
    Inspected r;
    std::shared_ptr<nn::Module> m = nn::make_model(name, gen);
    m->eval();
    r.module = m;
    r.description = name + " (torchvision classifier, 1000 classes)";
    r.input = input_shape(o, 224, 224);
    r.forward = [m](const Tensor& x) { return std::vector<std::pair<std::string, Tensor>>{{"logits", (*m)(x)}}; };
    return r;
  }
  const std::string bb = name.rfind("backbone:", 0) == 0 ? name.substr(9) : name;
  if (contains(nn::backbone_names(), bb)) {
    Inspected r;
    std::shared_ptr<nn::Backbone> b = nn::make_backbone(bb, gen);
    b->eval();
    r.module = b;
    r.description = bb + " backbone (features C2..C5, no classifier)";
    r.input = input_shape(o, 224, 224);
    r.forward = [b](const Tensor& x) {
      std::vector<std::pair<std::string, Tensor>> out;
      const std::vector<Tensor> f = b->features(x);
      for (size_t i = 0; i < f.size(); ++i) out.push_back({"C" + std::to_string(i + 2), f[i]});
      return out;
    };
    return r;
  }
  if (contains(model_kinds(), name)) {
    const data::SceneConfig sc = data::SceneConfig::preset(o.preset);
    const int64_t k = 10;  // the fashion-scenes classes (Fashion-MNIST's, or the shapes standing in)
    std::shared_ptr<Task> t = make_model(name, k, o.model_options, gen);
    return from_task(t, t->describe(), input_shape(o, sc.height, sc.width));
  }
  if (std::filesystem::exists(name)) {
    LoadedModel m = load_model(name);
    return from_task(m.net, m.net->describe() + " (" + m.path + ")",
                     input_shape(o, m.info.input_height, m.info.input_width));
  }
  fail("unknown model '", name, "': give a classifier (", joined(nn::model_names()), "), a backbone (",
       joined(nn::backbone_names()), ", or backbone:NAME), a model kind (", joined(model_kinds()),
       "), or a model file / run directory");
}

std::string tape_dot(Inspected& m, int depth) {
  Generator gen(0);
  const Tensor x = randn(m.input, gen);
  std::vector<Tensor> keep;  // the modules' outputs, alive for the tooltips
  m.module->set_forward_hook([&](const std::string&, const Tensor& out) { keep.push_back(out); });
  const bool was_recording = scope_recording();
  set_scope_recording(true);
  std::vector<std::pair<std::string, Tensor>> outs;
  try {
    outs = m.forward(x);
  } catch (...) {
    set_scope_recording(was_recording);
    m.module->set_forward_hook({});
    throw;
  }
  set_scope_recording(was_recording);
  m.module->set_forward_hook({});
  Tensor total;
  for (const auto& [name, t] : outs) total = total.defined() ? add(total, mean(t)) : mean(t);
  {
    RetainGradsGuard keep_grads;
    total.backward();
  }
  std::vector<std::pair<std::string, Tensor>> named = m.module->named_parameters();
  named.push_back({"input", x});
  DotOptions o;
  o.depth = depth;
  o.title = m.description + ", input " + shape_str(m.input);
  return graph_dot(outs, named, o);
}

nn::ModelSummary summary_of(Inspected& m) {
  NoGradGuard ng;
  const Tensor x = zeros(m.input);
  return nn::summarize(*m.module, m.input, [&] { m.forward(x); });
}

}  // namespace dg::det
