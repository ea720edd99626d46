#include "atrous/core/torch_pickle.h"

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>

#include "atrous/core/error.h"

namespace atrous {
namespace {

// A stack entry: a value, or what only the unpickler sees (a mark, a global). A storage is a value:
// its elements as a 1-D tensor, known as a storage by storages_.
struct Item {
  enum class Kind { value, mark, global } kind = Kind::value;
  c10::IValue value;
  std::string module, name;  // global
};

constexpr const char* object_advice =
    ", not tensors in dicts (torch.save(model) pickles the model's class: save model.state_dict() instead)";

[[noreturn]] void fail(const std::string& why) {
  throw std::runtime_error(why);
}

at::ScalarType storage_type(const std::string& name) {
  static const std::map<std::string, at::ScalarType> types = {{"FloatStorage", at::kFloat},
                                                              {"HalfStorage", at::kHalf},
                                                              {"BFloat16Storage", at::kBFloat16},
                                                              {"DoubleStorage", at::kDouble},
                                                              {"LongStorage", at::kLong},
                                                              {"IntStorage", at::kInt},
                                                              {"ShortStorage", at::kShort},
                                                              {"CharStorage", at::kChar},
                                                              {"ByteStorage", at::kByte},
                                                              {"BoolStorage", at::kBool},
                                                              {"ComplexFloatStorage", at::kComplexFloat},
                                                              {"ComplexDoubleStorage", at::kComplexDouble}};
  const auto found = types.find(name);
  if (found == types.end()) fail("a storage of the unsupported type torch." + name);
  return found->second;
}

std::vector<int64_t> integers(const c10::IValue& value, const char* what) {
  if (!value.isTuple()) fail(std::string("a tensor whose ") + what + " is not a tuple");
  std::vector<int64_t> numbers;
  for (const c10::IValue& element : value.toTupleRef().elements()) {
    if (!element.isInt()) fail(std::string("a tensor whose ") + what + " holds a non-integer");
    numbers.push_back(element.toInt());
  }
  return numbers;
}

// storage[offset + sum(index * stride)] for every index: all inside the storage, or a throw.
at::Tensor view_inside(const at::Tensor& storage, int64_t offset, const std::vector<int64_t>& sizes,
                       const std::vector<int64_t>& strides) {
  if (sizes.size() != strides.size()) fail("a tensor with as many sizes as strides");
  bool empty = false;
  int64_t end = offset;  // the last element's index
  bool fits = offset >= 0;
  for (size_t d = 0; fits && d < sizes.size(); ++d) {
    int64_t reach = 0;
    fits = sizes[d] >= 0 && strides[d] >= 0;
    empty = empty || sizes[d] == 0;
    if (fits && sizes[d] > 0)
      fits = !__builtin_mul_overflow(sizes[d] - 1, strides[d], &reach) &&
             !__builtin_add_overflow(end, reach, &end);
  }
  if (!fits || (!empty && end >= storage.numel()))
    fail(to_text("a tensor whose offset ", offset, ", sizes and strides reach past its storage of ",
                 storage.numel(), " elements"));
  return storage.as_strided(sizes, strides, empty ? 0 : offset);
}

// Whether `value` is or holds (through dicts, lists and tuples) the container at `target`: putting it
// into that container would make a cycle, which reference counting never frees.
bool reaches(const c10::IValue& value, const void* target) {
  std::vector<c10::IValue> pending{value};
  std::vector<const void*> seen;
  while (!pending.empty()) {
    const c10::IValue item = std::move(pending.back());
    pending.pop_back();
    if (!item.isGenericDict() && !item.isList() && !item.isTuple()) continue;
    const void* pointer = item.internalToPointer();
    if (pointer == target) return true;
    if (std::find(seen.begin(), seen.end(), pointer) != seen.end()) continue;
    seen.push_back(pointer);
    if (item.isGenericDict())
      for (const auto& entry : item.toGenericDict()) pending.push_back(entry.value());
    else if (item.isList())
      for (const c10::IValue& element : item.toListRef()) pending.push_back(element);
    else
      for (const c10::IValue& element : item.toTupleRef().elements()) pending.push_back(element);
  }
  return false;
}

class PickleMachine {
 public:
  PickleMachine(const std::string& pickle, caffe2::serialize::PyTorchStreamReader& archive)
      : pickle_(pickle), archive_(archive) {}

  c10::IValue run() {
    while (true) {
      const char op = byte();
      if (op == '.') break;
      step(op);
    }
    if (stack_.size() != 1 || stack_.back().kind != Item::Kind::value)
      fail("a damaged pickle (stack at STOP)");
    return stack_.back().value;
  }

 private:
  char byte() {
    if (at_ >= pickle_.size()) fail("a pickle that ends before STOP");
    return pickle_[at_++];
  }
  std::string bytes(size_t count) {
    if (count > pickle_.size() - at_) fail("a pickle that ends inside an argument");
    at_ += count;
    return pickle_.substr(at_ - count, count);
  }
  uint64_t unsigned_le(size_t count) {
    const std::string data = bytes(count);
    uint64_t number = 0;
    for (size_t i = count; i-- > 0;) number = (number << 8) | uint8_t(data[i]);
    return number;
  }
  std::string line() {
    const size_t end = pickle_.find('\n', at_);
    if (end == std::string::npos) fail("a pickle that ends inside a GLOBAL");
    std::string text = pickle_.substr(at_, end - at_);
    at_ = end + 1;
    return text;
  }

  Item pop() {
    if (stack_.empty()) fail("a damaged pickle (empty stack)");
    Item item = std::move(stack_.back());
    stack_.pop_back();
    return item;
  }
  c10::IValue pop_value() {
    Item item = pop();
    if (item.kind != Item::Kind::value) fail("a damaged pickle (a value expected)");
    return item.value;
  }
  std::vector<Item> pop_to_mark() {
    size_t mark = stack_.size();
    while (mark > 0 && stack_[mark - 1].kind != Item::Kind::mark) --mark;
    if (mark == 0) fail("a damaged pickle (no MARK)");
    std::vector<Item> items(std::make_move_iterator(stack_.begin() + std::ptrdiff_t(mark)),
                            std::make_move_iterator(stack_.end()));
    stack_.resize(mark - 1);
    return items;
  }
  void push(c10::IValue value) { stack_.push_back({Item::Kind::value, std::move(value), "", ""}); }
  // A global inside a tuple (a storage's type in its persistent id) is ("__global__", module, name).
  void push_tuple(std::vector<Item> items) {
    std::vector<c10::IValue> elements;
    for (Item& item : items) {
      if (item.kind == Item::Kind::mark) fail("a damaged pickle (a MARK inside a tuple)");
      elements.push_back(item.kind == Item::Kind::global
                             ? c10::ivalue::Tuple::create({std::string("__global__"), item.module, item.name})
                             : std::move(item.value));
    }
    push(c10::ivalue::Tuple::create(std::move(elements)));
  }
  void memo_put(uint64_t index) {
    if (stack_.empty()) fail("a damaged pickle (PUT on an empty stack)");
    memo_[index] = stack_.back();
  }
  void memo_get(uint64_t index) {
    const auto found = memo_.find(index);
    if (found == memo_.end()) fail("a damaged pickle (GET of an unset memo entry)");
    stack_.push_back(found->second);
  }
  static std::string describe(const Item& item) {
    if (item.kind == Item::Kind::global) return item.module + "." + item.name;
    return "a mark";
  }

  void step(char op);
  bool push_scalar(char op);
  bool build_container(char op);
  void set_items(std::vector<Item> items);
  void append_items(std::vector<Item> items);
  void reduce();
  void build();
  void persistent_load();
  at::Tensor rebuild_tensor(const std::vector<c10::IValue>& arguments);
  bool is_storage(const c10::IValue& value) const;

  const std::string& pickle_;
  caffe2::serialize::PyTorchStreamReader& archive_;
  size_t at_ = 0;
  std::vector<Item> stack_;
  std::unordered_map<uint64_t, Item> memo_;
  std::map<std::string, at::Tensor> storages_;
};

// One opcode (pickletools names them); STOP is run()'s.
void PickleMachine::step(char op) {
  if (push_scalar(op) || build_container(op)) return;
  switch (op) {
    case '\x80':
      bytes(1);
      return;  // PROTO
    case '\x95':
      bytes(8);
      return;  // FRAME
    case '(':
      stack_.push_back({Item::Kind::mark, {}, "", ""});
      return;    // MARK
    case 'c': {  // GLOBAL
      std::string module = line();
      stack_.push_back({Item::Kind::global, {}, std::move(module), line()});
      return;
    }
    case 'q':
      memo_put(unsigned_le(1));
      return;  // BINPUT
    case 'r':
      memo_put(unsigned_le(4));
      return;  // LONG_BINPUT
    case '\x94':
      memo_put(memo_.size());
      return;  // MEMOIZE
    case 'h':
      memo_get(unsigned_le(1));
      return;  // BINGET
    case 'j':
      memo_get(unsigned_le(4));
      return;     // LONG_BINGET
    case '\x81':  // NEWOBJ: cls.__new__(cls, *args), a class instance
      pop_value();
      fail("an object of " + describe(pop()) + object_advice);
    case 'Q':
      persistent_load();
      return;  // BINPERSID
    case 'R':
      reduce();
      return;  // REDUCE
    case 'b':
      build();
      return;  // BUILD
    default:
      fail(to_text("pickle opcode 0x", std::hex, int(uint8_t(op)), std::dec,
                   ", which torch.save does not write for tensors and containers"));
  }
}

// None, booleans, integers, floats and strings; false for other opcodes.
bool PickleMachine::push_scalar(char op) {
  switch (op) {
    case 'N':
      push(c10::IValue());
      return true;  // NONE
    case '\x88':
      push(true);
      return true;  // NEWTRUE
    case '\x89':
      push(false);
      return true;  // NEWFALSE
    case 'K':
      push(int64_t(unsigned_le(1)));
      return true;  // BININT1
    case 'M':
      push(int64_t(unsigned_le(2)));
      return true;  // BININT2
    case 'J':
      push(int64_t(int32_t(uint32_t(unsigned_le(4)))));
      return true;  // BININT
    case '\x8a': {  // LONG1: little-endian two's complement
      const size_t count = size_t(unsigned_le(1));
      if (count > 8) fail("an integer of more than 64 bits");
      uint64_t number = count == 0 ? 0 : unsigned_le(count);
      if (count > 0 && count < 8 && (number >> (8 * count - 1)) != 0) number |= ~uint64_t(0) << (8 * count);
      push(int64_t(number));
      return true;
    }
    case 'G': {  // BINFLOAT, big-endian
      uint64_t bits = 0;
      for (char c : bytes(8)) bits = (bits << 8) | uint8_t(c);
      double number = 0;
      std::memcpy(&number, &bits, sizeof number);
      push(number);
      return true;
    }
    case 'X':
    case 'T':
      push(bytes(size_t(unsigned_le(4))));
      return true;  // BINUNICODE, BINSTRING
    case '\x8c':
    case 'U':
      push(bytes(size_t(unsigned_le(1))));
      return true;  // SHORT_BINUNICODE/_BINSTRING
    default:
      return false;
  }
}

// Tuples, dicts and lists, and filling the latter two; false for other opcodes.
bool PickleMachine::build_container(char op) {
  switch (op) {
    case ')':
      push(c10::ivalue::Tuple::create({}));
      return true;  // EMPTY_TUPLE
    case 't':
      push_tuple(pop_to_mark());
      return true;  // TUPLE
    case '\x85':
    case '\x86':
    case '\x87': {  // TUPLE1, TUPLE2, TUPLE3
      const size_t count = size_t(uint8_t(op) - 0x84);
      if (stack_.size() < count) fail("a damaged pickle (TUPLE of a short stack)");
      std::vector<Item> items(std::make_move_iterator(stack_.end() - std::ptrdiff_t(count)),
                              std::make_move_iterator(stack_.end()));
      stack_.resize(stack_.size() - count);
      push_tuple(std::move(items));
      return true;
    }
    case '}':
      push(c10::impl::GenericDict(c10::AnyType::get(), c10::AnyType::get()));
      return true;  // EMPTY_DICT
    case ']':
      push(c10::impl::GenericList(c10::AnyType::get()));
      return true;  // EMPTY_LIST
    case 's': {     // SETITEM
      Item value = pop(), key = pop();
      std::vector<Item> items;
      items.push_back(std::move(key)), items.push_back(std::move(value));
      set_items(std::move(items));
      return true;
    }
    case 'u':
      set_items(pop_to_mark());
      return true;  // SETITEMS
    case 'a': {     // APPEND
      std::vector<Item> items;
      items.push_back(pop());
      append_items(std::move(items));
      return true;
    }
    case 'e':
      append_items(pop_to_mark());
      return true;  // APPENDS
    default:
      return false;
  }
}

void PickleMachine::append_items(std::vector<Item> items) {
  if (stack_.empty() || stack_.back().kind != Item::Kind::value || !stack_.back().value.isList())
    fail("a damaged pickle (APPEND outside a list)");
  c10::impl::GenericList list = stack_.back().value.toList();
  for (Item& item : items) {
    if (item.kind != Item::Kind::value) fail("a list holding " + describe(item));
    if (reaches(item.value, c10::IValue(list).internalToPointer())) fail("a list that holds itself");
    list.push_back(std::move(item.value));
  }
}

void PickleMachine::set_items(std::vector<Item> items) {
  if (stack_.empty() || stack_.back().kind != Item::Kind::value || !stack_.back().value.isGenericDict())
    fail("a damaged pickle (SETITEM outside a dict)");
  c10::impl::GenericDict dict = stack_.back().value.toGenericDict();
  if (items.size() % 2 != 0) fail("a damaged pickle (SETITEMS of an odd count)");
  for (size_t i = 0; i < items.size(); i += 2) {
    if (items[i].kind != Item::Kind::value || items[i + 1].kind != Item::Kind::value)
      fail("a dict holding " + describe(items[i].kind != Item::Kind::value ? items[i] : items[i + 1]));
    const c10::IValue& key = items[i].value;
    if (!key.isString() && !key.isInt()) fail("a dict whose keys are not strings or integers");
    if (reaches(items[i + 1].value, c10::IValue(dict).internalToPointer())) fail("a dict that holds itself");
    dict.insert_or_assign(key, std::move(items[i + 1].value));
  }
}

void PickleMachine::reduce() {
  const c10::IValue arguments = pop_value();
  const Item callable = pop();
  if (callable.kind != Item::Kind::global || !arguments.isTuple())
    fail("a damaged pickle (REDUCE of " + describe(callable) + ")");
  const std::vector<c10::IValue>& args = arguments.toTupleRef().elements().vec();
  const std::string name = callable.module + "." + callable.name;
  if (name == "collections.OrderedDict") {
    if (!args.empty()) fail("an OrderedDict built from arguments");
    push(c10::impl::GenericDict(c10::AnyType::get(), c10::AnyType::get()));
  } else if (name == "torch._utils._rebuild_tensor_v2") {
    push(rebuild_tensor(args));
  } else if (name == "torch._utils._rebuild_parameter" ||
             name == "torch._utils._rebuild_parameter_with_state") {
    if (args.size() < 3 || !args[0].isTensor()) fail("a _rebuild_parameter call of another form");
    push(args[0]);
  } else {
    fail("an object of " + name + object_advice);
  }
}

bool PickleMachine::is_storage(const c10::IValue& value) const {
  if (!value.isTensor()) return false;
  for (const auto& [key, storage] : storages_)
    if (storage.unsafeGetTensorImpl() == value.toTensor().unsafeGetTensorImpl()) return true;
  return false;
}

// _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
at::Tensor PickleMachine::rebuild_tensor(const std::vector<c10::IValue>& args) {
  if (args.size() < 6 || !is_storage(args[0]) || !args[1].isInt())
    fail("a _rebuild_tensor_v2 call of another form");
  return view_inside(args[0].toTensor(), args[1].toInt(), integers(args[2], "size"),
                     integers(args[3], "stride"));
}

// ('storage', torch.<Type>Storage, key, location, numel): the elements of record data/<key>, on the CPU.
void PickleMachine::persistent_load() {
  const c10::IValue id = pop_value();
  if (!id.isTuple()) fail("a persistent id that is not a tuple");
  const std::vector<c10::IValue>& parts = id.toTupleRef().elements().vec();
  if (parts.size() != 5 || !parts[0].isString() || parts[0].toStringRef() != "storage" ||
      !parts[2].isString() || !parts[4].isInt())
    fail("a persistent id other than a storage's");
  const std::string key = parts[2].toStringRef();
  if (const auto cached = storages_.find(key); cached != storages_.end()) return push(cached->second);
  const std::vector<c10::IValue> type =
      parts[1].isTuple() ? parts[1].toTupleRef().elements().vec() : std::vector<c10::IValue>{};
  if (type.size() != 3 || !type[1].isString() || type[1].toStringRef() != "torch" || !type[2].isString())
    fail("a storage whose type is not a torch storage class");
  const at::ScalarType dtype = storage_type(type[2].toStringRef());
  const int64_t numel = parts[4].toInt();
  const auto [data, size] = archive_.getRecord("data/" + key);
  const size_t element = c10::elementSize(dtype);
  if (numel < 0 || uint64_t(numel) > size / element)
    fail(to_text("storage ", key, " of ", numel, " elements, whose record data/", key, " holds ", size,
                 " bytes"));
  at::Tensor storage = at::empty({numel}, at::TensorOptions().dtype(dtype));
  if (numel > 0) std::memcpy(storage.data_ptr(), data.get(), size_t(numel) * element);
  storages_[key] = storage;
  push(storage);
}

void PickleMachine::build() {
  pop();  // the state: an OrderedDict's attributes (a state dict's _metadata), a tensor's hooks
  if (stack_.empty() || stack_.back().kind != Item::Kind::value ||
      !(stack_.back().value.isGenericDict() || stack_.back().value.isTensor()))
    fail("a BUILD of another object than a dict or a tensor");
}

}  // namespace

c10::IValue read_python_pickle(const std::vector<char>& zip) {
  try {
    std::istringstream stream(std::string(zip.begin(), zip.end()));
    caffe2::serialize::PyTorchStreamReader archive(&stream);
    const auto [data, size] = archive.getRecord("data.pkl");
    const std::string pickle(static_cast<const char*>(data.get()), size);
    return PickleMachine(pickle, archive).run();
  } catch (const c10::Error& error) {  // the archive's reader: a missing record, a damaged zip
    const std::string what = error.what_without_backtrace();
    fail(what.substr(0, what.find('\n')));
  }
}

}  // namespace atrous
