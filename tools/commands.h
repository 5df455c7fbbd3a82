// The `detgrad` subcommands: each registers itself on the CLI11 app and runs when chosen.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>

namespace dg::tools {

// Each returns the function to run when its subcommand was selected.
std::function<int()> add_ref_command(CLI::App& app);
std::function<int()> add_demo_command(CLI::App& app);
std::function<int()> add_bench_command(CLI::App& app);
std::function<int()> add_eval_command(CLI::App& app);
std::function<int()> add_data_command(CLI::App& app);
std::function<int()> add_train_command(CLI::App& app);
std::function<int()> add_detect_command(CLI::App& app);
std::function<int()> add_plot_command(CLI::App& app);
std::function<int()> add_summary_command(CLI::App& app);
std::function<int()> add_graph_command(CLI::App& app);
std::function<int()> add_report_command(CLI::App& app);

}  // namespace dg::tools
