// natime: NeuralAudio's speed (and output) on a float32 input, for the pedal's side-by-side
// benchmark. Our own small driver of NeuralAudio's public API (NeuralModelLoader /
// NeuralModel::Process), built inside a NeuralAudio checkout outside the repository by
// build.sh; no NeuralAudio code is in this repository.
//
//   natime MODEL.nam BLOCK IN.f32 OUT.f32|- [--mode internal|namcore|rtneural] [--time REPS]
//
// The model is prewarmed at load (NeuralAudio's default). OUT gets the output of the first
// pass; --time REPS runs REPS more passes and prints one JSON line as namref does.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "NeuralAudio/NeuralModel.h"

using namespace NeuralAudio;

int main(int argc, char* argv[])
{
  std::vector<std::string> pos;
  std::string mode_s = "internal";
  int reps = 0;
  for (int i = 1; i < argc; i++)
  {
    std::string a = argv[i];
    if (a == "--mode" && i + 1 < argc)
      mode_s = argv[++i];
    else if (a == "--time" && i + 1 < argc)
      reps = std::atoi(argv[++i]);
    else if (a == "--fast-tanh")
      ;  // NeuralAudio always uses its own fast activations
    else
      pos.push_back(a);
  }
  if (pos.size() < 4)
  {
    std::cerr << "usage: natime MODEL.nam BLOCK IN.f32 OUT.f32|- [--mode M] [--time REPS]\n";
    return 1;
  }
  const int block = std::atoi(pos[1].c_str());
  const EModelLoadMode mode = mode_s == "namcore" ? EModelLoadMode::NAMCore
                              : mode_s == "rtneural" ? EModelLoadMode::RTNeural
                                                     : EModelLoadMode::Internal;
  NeuralModelLoader loader;
  loader.SetDefaultMaxAudioBufferSize(block);
  loader.SetWaveNetLoadMode(mode);
  loader.SetLSTMLoadMode(mode);
  NeuralModel* model = nullptr;
  try
  {
    model = loader.CreateFromFile(pos[0]);
  }
  catch (const std::exception& e)
  {
    std::printf("error: %s\n", e.what());
    return 3;
  }
  if (model == nullptr)
  {
    std::printf("error: NeuralAudio did not load the model\n");
    return 3;
  }
  std::ifstream f(pos[2], std::ios::binary | std::ios::ate);
  if (!f)
  {
    std::printf("error: cannot read %s\n", pos[2].c_str());
    return 2;
  }
  const size_t bytes = (size_t)f.tellg();
  f.seekg(0);
  std::vector<float> x(bytes / 4), y(bytes / 4);
  f.read(reinterpret_cast<char*>(x.data()), (std::streamsize)bytes);
  const size_t n = x.size();
  auto pass = [&]() {
    for (size_t i = 0; i < n; i += (size_t)block)
      model->Process(x.data() + i, y.data() + i, std::min((size_t)block, n - i));
  };
  pass();
  if (pos[3] != "-")
  {
    std::ofstream o(pos[3], std::ios::binary);
    o.write(reinterpret_cast<char*>(y.data()), (std::streamsize)(y.size() * 4));
  }
  if (reps <= 0)
  {
    std::printf("ok mode=%d static=%d n=%zu\n", (int)model->GetLoadMode(), (int)model->IsStatic(), n);
    return 0;
  }
  std::vector<double> xrt;
  for (int r = 0; r < reps; r++)
  {
    auto t0 = std::chrono::steady_clock::now();
    pass();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    xrt.push_back((double)n / 48000.0 / s);
  }
  std::vector<double> sorted = xrt;
  std::sort(sorted.begin(), sorted.end());
  std::printf("{\"block\": %d, \"static\": %s, \"best\": %.3f, \"median\": %.3f, \"reps\": [", block,
              model->IsStatic() ? "true" : "false", sorted.back(), sorted[sorted.size() / 2]);
  for (size_t i = 0; i < xrt.size(); i++)
    std::printf("%s%.3f", i ? ", " : "", xrt[i]);
  std::printf("]}\n");
  delete model;
  return 0;
}
