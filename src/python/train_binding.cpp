// transformer.train and transformer.vocab: `transformer train` and
// `transformer vocab` from Python, with the CLI's options as keyword
// arguments (the CLI's names, "-" written "_"), and Python callbacks for
// each logged step and each validation. Ctrl-C stops training as it stops
// the CLI (a checkpoint is written), then raises KeyboardInterrupt.
#include <optional>

#include <pybind11/stl.h>

#include "core/error.h"
#include "core/threads.h"
#include "python/bindings.h"
#include "text/vocabulary.h"
#include "train/trainer.h"

namespace transformer::python {

namespace py = pybind11;

namespace {

// Takes the options out of `kwargs` one by one; what is left at the end is a
// name neither command knows.
class Options {
 public:
  explicit Options(py::dict kwargs) : kwargs_(std::move(kwargs)) {}

  template <typename T>
  void take(const char* name, T& into) {
    if (!kwargs_.contains(name)) return;
    const py::object value = kwargs_[name];
    try {
      into = value.cast<T>();
    } catch (const py::cast_error&) {
      throw py::type_error(std::string(name) + ": " + py::repr(value).cast<std::string>() + " is of the wrong type (" +
                           py::str(py::type::of(value).attr("__name__")).cast<std::string>() + ")");
    }
    PyDict_DelItemString(kwargs_.ptr(), name);
  }
  // A path: str or os.PathLike.
  void take_path(const char* name, std::string& into) {
    if (!kwargs_.contains(name)) return;
    into = py::str(py::module_::import("os").attr("fspath")(kwargs_[name])).cast<std::string>();
    PyDict_DelItemString(kwargs_.ptr(), name);
  }
  void check_all_taken(const char* command) const {
    if (kwargs_.empty()) return;
    std::string names;
    for (const auto& item : kwargs_) names += (names.empty() ? "" : ", ") + py::str(item.first).cast<std::string>();
    throw py::type_error(std::string(command) + "() got unknown option(s): " + names);
  }

 private:
  py::dict kwargs_;
};

py::object to_python(const nlohmann::json& record) {
  return py::module_::import("json").attr("loads")(record.dump());
}

void train_from_python(const py::object& on_step, const py::object& on_validation, const py::kwargs& kwargs) {
  TrainOptions o;
  std::string preset = "small", config, schedule = "noam", precision = "float32";
  std::optional<float> dropout;
  int threads = 0;
  Options options{py::dict(kwargs)};
  options.take_path("train_source", o.train_source);
  options.take_path("train_target", o.train_target);
  options.take_path("data", o.data);
  options.take_path("valid_source", o.valid_source);
  options.take_path("valid_target", o.valid_target);
  options.take_path("vocab", o.vocabulary);
  options.take_path("out", o.out);
  options.take("preset", preset);
  options.take_path("config", config);
  options.take("dropout", dropout);
  options.take("max_tokens", o.max_tokens);
  options.take("accumulate", o.accumulate);
  options.take("replicas", o.replicas);
  options.take("schedule", schedule);
  options.take("lr_factor", o.schedule.factor);
  options.take("warmup", o.schedule.warmup);
  options.take("lr", o.schedule.peak);
  options.take("clip_norm", o.adam.clip_norm);
  options.take("label_smoothing", o.label_smoothing);
  options.take("precision", precision);
  options.take("max_steps", o.max_steps);
  options.take("max_epochs", o.max_epochs);
  options.take("max_minutes", o.max_minutes);
  options.take("valid_every", o.valid_every);
  options.take("keep_last", o.keep_last);
  options.take("probe", o.probes);
  options.take("probes", o.probe_valid);
  options.take("log_every", o.log_every);
  options.take("patience", o.patience);
  options.take("valid_bleu_max", o.valid_bleu_max);
  options.take("seed", o.seed);
  options.take("resume", o.resume);
  options.take("strict", o.strict_corpus);
  options.take("subword_sampling", o.subword_sampling);
  options.take("nbest_size", o.nbest_size);
  options.take("threads", threads);
  options.check_all_taken("train");
  // The training corpus as text, or prepared (data=; train() refuses both).
  if (o.data.empty())
    for (const auto& [name, value] : {std::pair{"train_source", &o.train_source}, {"train_target", &o.train_target}})
      if (value->empty()) throw py::type_error(std::string("train() needs ") + name + " (or data, a prepared corpus)");
  for (const auto& [name, value] : {std::pair{"vocab", &o.vocabulary}, {"out", &o.out}})
    if (value->empty()) throw py::type_error(std::string("train() needs ") + name);
  if (threads < 0)
    throw Error("threads must not be negative (0: OMP_NUM_THREADS when set, else all cores), not " +
                std::to_string(threads));
  if (dropout && *dropout < 0) throw Error("dropout must be in [0, 0.99], not " + std::to_string(*dropout));
  set_architecture(o, preset, config, dropout.value_or(-1.0f));  // negative: the config's
  set_schedule(o, schedule);
  if (!kernels::parse_precision(precision, &o.precision))
    throw Error("precision must be float32 (fp32) or bfloat16 (bf16), not '" + precision + "'");

  // Python's own SIGINT handler stays and only marks the signal; Python
  // raises KeyboardInterrupt when it next runs: in a callback, or when asked
  // at every step. Either way the exception is kept until training has
  // stopped as the CLI stops on Ctrl-C, checkpoint written, and then raised.
  std::optional<py::error_already_set> interrupted;
  o.stop_requested = [&] {
    py::gil_scoped_acquire gil;
    if (!interrupted && PyErr_CheckSignals() != 0) interrupted.emplace();  // takes the pending exception
    return interrupted.has_value();
  };
  // The callbacks run Python, so they take the GIL while they run. Any other
  // exception in one ends training at once and reaches the caller.
  o.on_metrics = [&](const nlohmann::json& record) {
    py::gil_scoped_acquire gil;
    const py::object& callback = record.contains("valid_loss") ? on_validation : on_step;
    if (callback.is_none()) return;
    try {
      callback(to_python(record));
    } catch (py::error_already_set& e) {
      if (!e.matches(PyExc_KeyboardInterrupt)) throw;
      interrupted.emplace(std::move(e));
    }
  };
  {
    py::gil_scoped_release nogil;
    set_num_threads(threads);
    train(o);
  }
  if (interrupted) throw *interrupted;
}

py::dict vocab_from_python(const std::vector<std::string>& inputs, const std::string& out, const py::kwargs& kwargs) {
  text::VocabOptions o;
  o.inputs = inputs;
  o.output = out;
  Options options{py::dict(kwargs)};
  options.take("vocab_size", o.vocab_size);
  options.take("model_type", o.model_type);
  options.take("character_coverage", o.character_coverage);
  options.take("max_sentences", o.input_sentence_size);
  options.take("seed", o.seed);
  options.take("threads", o.threads);
  options.check_all_taken("vocab");
  text::VocabReport report;
  {
    py::gil_scoped_release nogil;
    report = text::train_vocabulary(o);
  }
  py::dict r;
  r["model_path"] = report.model_path;
  r["vocab_path"] = report.vocab_path;
  r["size"] = report.size;
  r["lines"] = report.lines;
  r["total_lines"] = report.total_lines;
  return r;
}

}  // namespace

void bind_training(py::module_& m) {
  m.def("train", &train_from_python, py::kw_only(), py::arg("on_step") = py::none(),
        py::arg("on_validation") = py::none(),
        "`transformer train` with its options as keyword arguments (train_source, train_target, vocab, out, "
        "preset, config, max_steps, ...); on_step(record) for each logged step, on_validation(record) for each "
        "validation, with the records metrics.jsonl gets. Ctrl-C writes a checkpoint, then raises KeyboardInterrupt");
  m.def("vocab", &vocab_from_python, py::arg("inputs"), py::arg("out"),
        "`transformer vocab`: trains a SentencePiece model on the input files (vocab_size, model_type, "
        "character_coverage, max_sentences, seed, threads); returns what it wrote");
}

}  // namespace transformer::python
