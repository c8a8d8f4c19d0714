// namref: NAM Core's output for a float32 input, and NAM Core's speed on it, for the pedal's
// tests and its side-by-side benchmark. Our own small driver of NAM Core's public API: it
// links against NeuralAmpModelerCore built from source outside the repository (build.sh);
// no NAM Core code is in this repository.
//
//   namref MODEL.nam BLOCK IN.f32 OUT.f32|- [--slim V] [--fast-tanh] [--time REPS]
//
// IN is raw float32 mono. OUT gets every output channel, channel-major (all of channel 0,
// then channel 1, ...), after Reset (which prewarms, as the plugin does). --time REPS runs
// REPS more passes over IN, block by block, and prints one JSON line: x real time per pass,
// the best and the median.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "NAM/dsp.h"
#include "NAM/get_dsp.h"
#include "NAM/slimmable.h"

int main(int argc, char* argv[])
{
  std::vector<std::string> pos;
  double slim = -1;
  bool fast = false;
  int reps = 0;
  for (int i = 1; i < argc; i++)
  {
    std::string a = argv[i];
    if (a == "--slim" && i + 1 < argc)
      slim = std::atof(argv[++i]);
    else if (a == "--time" && i + 1 < argc)
      reps = std::atoi(argv[++i]);
    else if (a == "--fast-tanh")
      fast = true;
    else
      pos.push_back(a);
  }
  if (pos.size() < 4)
  {
    std::cerr << "usage: namref MODEL.nam BLOCK IN.f32 OUT.f32|- [--slim V] [--fast-tanh] [--time REPS]\n";
    return 1;
  }
  if (fast)
    nam::activations::Activation::enable_fast_tanh();
  else
    nam::activations::Activation::disable_fast_tanh();
  std::unique_ptr<nam::DSP> model;
  try
  {
    model = nam::get_dsp(std::filesystem::path(pos[0]));
  }
  catch (const std::exception& e)
  {
    std::printf("error: %s\n", e.what());
    return 3;
  }
  if (slim >= 0)
  {
    auto* s = dynamic_cast<nam::SlimmableModel*>(model.get());
    if (!s)
    {
      std::printf("error: not slimmable\n");
      return 3;
    }
    s->SetSlimmableSize(slim);
  }
  const int block = std::atoi(pos[1].c_str());
  double sr = model->GetExpectedSampleRate();
  if (sr <= 0)
    sr = 48000.0;
  model->Reset(sr, block);
  std::ifstream f(pos[2], std::ios::binary | std::ios::ate);
  if (!f)
  {
    std::printf("error: cannot read %s\n", pos[2].c_str());
    return 2;
  }
  const size_t bytes = (size_t)f.tellg();
  f.seekg(0);
  std::vector<float> x(bytes / 4);
  f.read(reinterpret_cast<char*>(x.data()), (std::streamsize)bytes);
  const int in_ch = model->NumInputChannels(), out_ch = model->NumOutputChannels();
  const size_t n = x.size();
  std::vector<std::vector<NAM_SAMPLE>> ib(in_ch, std::vector<NAM_SAMPLE>(block));
  std::vector<std::vector<NAM_SAMPLE>> ob(out_ch, std::vector<NAM_SAMPLE>(block));
  std::vector<NAM_SAMPLE*> ip(in_ch), op(out_ch);
  for (int c = 0; c < in_ch; c++)
    ip[c] = ib[c].data();
  for (int c = 0; c < out_ch; c++)
    op[c] = ob[c].data();
  std::vector<float> y((size_t)out_ch * n);
  auto pass = [&](bool keep) {
    for (size_t i = 0; i < n; i += (size_t)block)
    {
      const int m = (int)std::min((size_t)block, n - i);
      for (int c = 0; c < in_ch; c++)
        for (int j = 0; j < m; j++)
          ip[c][j] = x[i + j];
      model->process(ip.data(), op.data(), m);
      if (keep)
        for (int c = 0; c < out_ch; c++)
          for (int j = 0; j < m; j++)
            y[(size_t)c * n + i + j] = (float)op[c][j];
    }
  };
  pass(true);
  if (pos[3] != "-")
  {
    std::ofstream o(pos[3], std::ios::binary);
    o.write(reinterpret_cast<char*>(y.data()), (std::streamsize)(y.size() * 4));
  }
  if (reps <= 0)
  {
    std::printf("ok in=%d out=%d sr=%g n=%zu\n", in_ch, out_ch, sr, n);
    return 0;
  }
  std::vector<double> xrt;
  for (int r = 0; r < reps; r++)
  {
    auto t0 = std::chrono::steady_clock::now();
    pass(false);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    xrt.push_back((double)n / sr / s);
  }
  std::vector<double> sorted = xrt;
  std::sort(sorted.begin(), sorted.end());
  std::printf("{\"block\": %d, \"best\": %.3f, \"median\": %.3f, \"reps\": [", block, sorted.back(),
              sorted[sorted.size() / 2]);
  for (size_t i = 0; i < xrt.size(); i++)
    std::printf("%s%.3f", i ? ", " : "", xrt[i]);
  std::printf("]}\n");
  return 0;
}
