// The parser driver: lexes one source file with the ANTLR-generated DlLexer,
// parses it with DlParser (fast SLL first; full LL with error recovery only when
// that fails), reports lexical and syntax errors as diagnostics, and hands the
// parse tree to the AST builder (ParseTreeBuilder.cpp). Consumes a SourceManager
// buffer; produces an ast::SourceFile.
#include "frontend/Parser.h"

#include "frontend/ParseTreeBuilder.h"

#include "DlLexer.h"
#include "DlParser.h"

#include <antlr4-runtime.h>

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace dlc {

namespace {

using grammar::DlLexer;
using grammar::DlParser;

/// One file reports at most this many syntax errors; the rest are noise.
constexpr unsigned kMaxSyntaxErrors = 20;
/// Nested `/* */` comments deeper than this are refused before lexing (the
/// lexer's recursion grows with the nesting).
constexpr unsigned kMaxCommentNesting = 64;
/// Stack the recursive-descent parser may use before giving up on a file that
/// nests too deeply (a few hundred levels of parentheses fit easily).
constexpr uintptr_t kParserStackBudget = 2u << 20;

/// A character stream whose characters are the file's bytes, so ANTLR's token
/// indices and columns are byte offsets (as SourceManager and the diagnostics'
/// carets count) and malformed UTF-8 cannot make ANTLR throw.
class ByteInputStream : public antlr4::ANTLRInputStream {
public:
  explicit ByteInputStream(std::string_view bytes) {
    _data.reserve(bytes.size());
    for (unsigned char c : bytes)
      _data.push_back(char32_t(c));
    p = 0;
  }
};

/// Thrown when the parser's recursion would exhaust the stack.
struct NestingTooDeep {
  size_t line;
  size_t col;
};

/// Thrown after kMaxSyntaxErrors errors to stop parsing the file.
struct TooManyErrors {};

/// DlParser with a stack guard on every rule entry: deeply nested input gets a
/// diagnostic instead of a stack overflow.
class GuardedParser : public DlParser {
public:
  explicit GuardedParser(antlr4::TokenStream *input) : DlParser(input) {
    stackBase = uintptr_t(__builtin_frame_address(0));
  }

  void enterRule(antlr4::ParserRuleContext *localctx, size_t state, size_t ruleIndex) override {
    uintptr_t here = uintptr_t(__builtin_frame_address(0));
    if (stackBase > here && stackBase - here > kParserStackBudget)
      throw NestingTooDeep{getCurrentToken()->getLine(),
                           getCurrentToken()->getCharPositionInLine()};
    DlParser::enterRule(localctx, state, ruleIndex);
  }

private:
  uintptr_t stackBase;
};

SourceLoc tokenLoc(uint32_t fileId, const antlr4::Token *token) {
  if (token == nullptr)
    return SourceLoc{fileId, 1, 1};
  return SourceLoc{fileId, uint32_t(token->getLine()),
                   uint32_t(token->getCharPositionInLine() + 1)};
}

/// The token's text as written in the file (bytes, not ANTLR's re-encoding).
std::string tokenText(std::string_view text, const antlr4::Token *token) {
  size_t start = token->getStartIndex();
  size_t stop = token->getStopIndex();
  if (start == INVALID_INDEX || stop == INVALID_INDEX || start > stop || stop >= text.size())
    return token->getText();
  return std::string(text.substr(start, stop - start + 1));
}

/// How a token appears in a message: `'else'`, or `end of file`.
std::string tokenDisplay(std::string_view text, const antlr4::Token *token) {
  if (token == nullptr || token->getType() == antlr4::Token::EOF)
    return "end of file";
  std::string s = tokenText(text, token);
  if (s.size() > 24)
    s = s.substr(0, 21) + "...";
  return "'" + s + "'";
}

/// Collects the lexical and syntax errors of one file and emits them in source
/// order (the lexer runs to the end before the parser starts), skipping
/// duplicates at one location and stopping the parse after kMaxSyntaxErrors.
class SyntaxErrorSink {
public:
  explicit SyntaxErrorSink(DiagEngine &diags) : diags(diags) {}

  /// A lexical error: never capped (the lexer has finished by then).
  void lexical(DiagId id, SourceLoc loc, std::vector<std::string> args = {}) {
    pending.push_back({id, loc, std::move(args)});
  }

  void syntax(SourceLoc loc, const std::string &message, bool atEof) {
    // After an unterminated comment the file ends early; complaints about the
    // missing tail (`expected '}'` at end of file) would only repeat it.
    if (atEof && truncated)
      return;
    if (syntaxCount > 0 && loc == lastLoc)
      return;
    lastLoc = loc;
    ++syntaxCount;
    pending.push_back({DiagId::err_syntax, loc, {message}});
    if (syntaxCount >= kMaxSyntaxErrors)
      throw TooManyErrors{};
  }

  /// Emits everything collected, ordered by position.
  void flush() {
    std::stable_sort(pending.begin(), pending.end(), [](const Pending &a, const Pending &b) {
      return a.loc.line != b.loc.line ? a.loc.line < b.loc.line : a.loc.col < b.loc.col;
    });
    for (Pending &p : pending)
      diags.report(p.id, p.loc, std::move(p.args));
    pending.clear();
  }

  bool empty() const { return pending.empty(); }
  void setTruncated() { truncated = true; }

private:
  struct Pending {
    DiagId id;
    SourceLoc loc;
    std::vector<std::string> args;
  };
  DiagEngine &diags;
  std::vector<Pending> pending;
  unsigned syntaxCount = 0;
  SourceLoc lastLoc;
  bool truncated = false;
};

/// Routes ANTLR's error callbacks to the sink. The messages arrive already
/// phrased by SyntaxErrorStrategy.
class SyntaxErrorListener : public antlr4::BaseErrorListener {
public:
  SyntaxErrorListener(SyntaxErrorSink &sink, uint32_t fileId) : sink(sink), fileId(fileId) {}

  void syntaxError(antlr4::Recognizer *, antlr4::Token *offending, size_t line, size_t col,
                   const std::string &msg, std::exception_ptr) override {
    SourceLoc loc{fileId, uint32_t(line), uint32_t(col + 1)};
    bool atEof = offending != nullptr && offending->getType() == antlr4::Token::EOF;
    sink.syntax(loc, msg, atEof);
  }

private:
  SyntaxErrorSink &sink;
  uint32_t fileId;
};

/// ANTLR's default recovery, with messages a DL programmer can read:
/// "expected '}'", "expected expression, found ')'", "unexpected 'else'".
class SyntaxErrorStrategy : public antlr4::DefaultErrorStrategy {
public:
  explicit SyntaxErrorStrategy(std::string_view text) : text(text) {}

protected:
  void reportNoViableAlternative(antlr4::Parser *parser,
                                 const antlr4::NoViableAltException &e) override {
    antlr4::Token *offending = e.getOffendingToken();
    // Prediction may fail some tokens after where it started; the expected set
    // then describes the start, so only a generic phrase fits.
    if (offending->getType() == antlr4::Token::EOF)
      return report(parser, offending, e.getExpectedTokens(), /*missing=*/false);
    if (e.getStartToken() != offending) {
      bool wantsExpr = inExpression(e.getCtx()) && followsOperator(parser, offending);
      notify(parser, offending,
             wantsExpr ? "expected expression, found " + display(offending)
                       : "unexpected " + display(offending));
      return;
    }
    report(parser, offending, e.getExpectedTokens(), /*missing=*/false);
  }

  void reportInputMismatch(antlr4::Parser *parser,
                           const antlr4::InputMismatchException &e) override {
    report(parser, e.getOffendingToken(), e.getExpectedTokens(), /*missing=*/false);
  }

  void reportFailedPredicate(antlr4::Parser *parser,
                             const antlr4::FailedPredicateException &e) override {
    antlr4::Token *offending = e.getOffendingToken();
    notify(parser, offending, "unexpected " + display(offending));
  }

  void reportUnwantedToken(antlr4::Parser *parser) override {
    if (inErrorRecoveryMode(parser))
      return;
    beginErrorCondition(parser);
    antlr4::Token *token = parser->getCurrentToken();
    if (token->getType() == antlr4::Token::EOF)
      return report(parser, token, getExpectedTokens(parser), /*missing=*/false);
    if (inExpression(parser->getContext()) && followsOperator(parser, token))
      return notify(parser, token, "expected expression, found " + display(token));
    notify(parser, token, "unexpected " + display(token));
  }

  void reportMissingToken(antlr4::Parser *parser) override {
    if (inErrorRecoveryMode(parser))
      return;
    beginErrorCondition(parser);
    report(parser, parser->getCurrentToken(), getExpectedTokens(parser), /*missing=*/true);
  }

private:
  std::string display(antlr4::Token *token) const { return tokenDisplay(text, token); }

  /// "expected X, found Y", or just "expected X" for a token that is missing
  /// (reported at the token after the gap); at end of file, the innermost
  /// closing bracket is what is missing.
  void report(antlr4::Parser *parser, antlr4::Token *found, const antlr4::misc::IntervalSet &set,
              bool missing) {
    if (found->getType() == antlr4::Token::EOF) {
      if (const char *closer = unclosedBracket(parser))
        return notify(parser, found, std::string("expected '") + closer + "' at end of file");
    }
    std::string expected = describeExpected(parser, set);
    if (expected.empty())
      return notify(parser, found, "unexpected " + display(found));
    if (missing)
      return notify(parser, found, expected);
    notify(parser, found, expected + ", found " + display(found));
  }

  /// The closing bracket of the innermost bracket still open at the end of
  /// the file, or null when all are closed.
  static const char *unclosedBracket(antlr4::Parser *parser) {
    antlr4::TokenStream *tokens = parser->getTokenStream();
    std::vector<const char *> open;
    for (size_t i = 0; i < tokens->size(); ++i) {
      switch (tokens->get(i)->getType()) {
      case DlParser::LPAREN:
      case DlParser::LPAREN_NL: open.push_back(")"); break;
      case DlParser::LBRACK:
      case DlParser::LBRACK_NL: open.push_back("]"); break;
      case DlParser::LBRACE: open.push_back("}"); break;
      case DlParser::RPAREN:
      case DlParser::RBRACK:
      case DlParser::RBRACE:
        if (!open.empty())
          open.pop_back();
        break;
      default: break;
      }
    }
    return open.empty() ? nullptr : open.back();
  }

  /// True inside one of the expression rules (not a parameter list, say).
  static bool inExpression(antlr4::RuleContext *ctx) {
    if (ctx == nullptr)
      return false;
    switch (ctx->getRuleIndex()) {
    case DlParser::RuleExpr:
    case DlParser::RuleTernaryExpr:
    case DlParser::RuleOrExpr:
    case DlParser::RuleAndExpr:
    case DlParser::RuleCmpExpr:
    case DlParser::RuleRangeExpr:
    case DlParser::RuleAddExpr:
    case DlParser::RuleMulExpr:
    case DlParser::RuleMatExpr:
    case DlParser::RuleUnaryExpr:
    case DlParser::RulePostfixExpr:
    case DlParser::RulePostfixOp:
    case DlParser::RuleArg:
    case DlParser::RulePrimary: return true;
    default: return false;
    }
  }

  /// True when the token before `token` must be followed by an expression.
  static bool followsOperator(antlr4::Parser *parser, antlr4::Token *token) {
    size_t index = token->getTokenIndex();
    if (index == 0 || index == INVALID_INDEX)
      return false;
    switch (parser->getTokenStream()->get(index - 1)->getType()) {
    case DlParser::PLUS:
    case DlParser::MINUS:
    case DlParser::STAR:
    case DlParser::SLASH:
    case DlParser::PERCENT:
    case DlParser::AT:
    case DlParser::EQEQ:
    case DlParser::NE:
    case DlParser::LT:
    case DlParser::LE:
    case DlParser::GT:
    case DlParser::GE:
    case DlParser::ANDAND:
    case DlParser::OROR:
    case DlParser::HALFOPEN:
    case DlParser::CLOSED:
    case DlParser::EQ:
    case DlParser::PLUSEQ:
    case DlParser::MINUSEQ:
    case DlParser::STAREQ:
    case DlParser::SLASHEQ:
    case DlParser::QUESTION:
    case DlParser::BANG:
    case DlParser::AMP:
    case DlParser::LPAREN:
    case DlParser::LBRACK:
    case DlParser::COMMA:
    case DlParser::LPAREN_NL:
    case DlParser::LBRACK_NL:
    case DlParser::RETURN_VALUE: return true;
    default: return false;
    }
  }

  static void notify(antlr4::Parser *parser, antlr4::Token *token, const std::string &msg) {
    parser->notifyErrorListeners(token, msg, nullptr);
  }

  /// "expected ')'", "expected identifier or '('", "expected expression", or ""
  /// when the set is too large to say anything useful.
  static std::string describeExpected(antlr4::Parser *parser,
                                      const antlr4::misc::IntervalSet &set) {
    if (set.contains(size_t(DlParser::INT)) && set.contains(size_t(DlParser::IDENT)) &&
        set.contains(size_t(DlParser::LPAREN)))
      return "expected expression";
    if (set.contains(size_t(DlParser::IDENT)) && set.contains(size_t(DlParser::SELF_TYPE)) &&
        set.contains(size_t(DlParser::LBRACK)))
      return "expected type";
    std::vector<std::string> names;
    for (ssize_t type : set.toList()) {
      std::string name = tokenTypeName(parser, size_t(type));
      if (std::find(names.begin(), names.end(), name) == names.end())
        names.push_back(name);
    }
    if (names.empty() || names.size() > 3)
      return "";
    std::string out = "expected ";
    for (size_t i = 0; i < names.size(); ++i) {
      if (i > 0)
        out += i + 1 == names.size() ? " or " : ", ";
      out += names[i];
    }
    return out;
  }

  static std::string tokenTypeName(antlr4::Parser *parser, size_t type) {
    switch (type) {
    case antlr4::Token::EOF: return "end of file";
    case DlParser::IDENT: return "identifier";
    case DlParser::INT: return "integer literal";
    case DlParser::FLOAT: return "float literal";
    case DlParser::STRING: return "string literal";
    // Retyped tokens (see classifyTokens) read as what they are written as.
    case DlParser::LPAREN_NL: return "'('";
    case DlParser::LBRACK_NL: return "'['";
    case DlParser::ATTR_AT: return "'@'";
    case DlParser::RETURN_VALUE: return "'return'";
    case DlParser::GENERIC_LT: return "'<'";
    case DlParser::GENERIC_GT: return "'>'";
    default: break;
    }
    std::string literal = parser->getVocabulary().getLiteralName(type);
    return literal.empty() ? parser->getVocabulary().getDisplayName(type) : literal;
  }

  std::string_view text;
};

/// Rejects absurdly nested block comments before the lexer recurses into them.
/// Mirrors the lexer closely enough: strings and line comments hide `/*`.
bool checkCommentNesting(std::string_view text, uint32_t fileId, DiagEngine &diags) {
  unsigned depth = 0;
  uint32_t line = 1;
  size_t lineStart = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    char next = i + 1 < text.size() ? text[i + 1] : '\0';
    if (c == '\n') {
      ++line;
      lineStart = i + 1;
      continue;
    }
    if (depth > 0) {
      if (c == '*' && next == '/') {
        --depth;
        ++i;
      } else if (c == '/' && next == '*') {
        ++i;
        if (++depth > kMaxCommentNesting) {
          SourceLoc loc{fileId, line, uint32_t(i - lineStart)};
          diags.report(DiagId::err_syntax, loc, {"comments are nested too deeply"});
          return false;
        }
      }
      continue;
    }
    if (c == '/' && next == '/') {
      while (i + 1 < text.size() && text[i + 1] != '\n')
        ++i;
    } else if (c == '/' && next == '*') {
      depth = 1;
      ++i;
    } else if (c == '"') {
      while (i + 1 < text.size() && text[i + 1] != '"' && text[i + 1] != '\n')
        i += text[i + 1] == '\\' ? 2 : 1;
      if (i + 1 < text.size() && text[i + 1] == '"')
        ++i;
    }
  }
  return true;
}

using TokenList = std::vector<std::unique_ptr<antlr4::Token>>;

/// Runs the lexer to the end and returns the tokens the parser should see,
/// reporting (and dropping) stray characters, unterminated strings and an
/// unterminated comment (which ends the token stream).
TokenList lexAll(DlLexer &lexer, std::string_view text, uint32_t fileId, SyntaxErrorSink &sink) {
  TokenList tokens;
  size_t lastBadStop = INVALID_INDEX;
  for (;;) {
    std::unique_ptr<antlr4::Token> token = lexer.nextToken();
    size_t type = token->getType();
    if (type == antlr4::Token::EOF) {
      tokens.push_back(std::move(token));
      return tokens;
    }
    if (type == DlLexer::COMMENT_OPEN) {
      sink.lexical(DiagId::err_unterminated_comment, tokenLoc(fileId, token.get()));
      sink.setTruncated();
      // The file ends here: the comment swallows the rest.
      auto eof = std::make_unique<antlr4::CommonToken>(antlr4::Token::EOF);
      eof->setLine(token->getLine());
      eof->setCharPositionInLine(token->getCharPositionInLine());
      eof->setStartIndex(token->getStartIndex());
      eof->setStopIndex(token->getStartIndex() - 1);
      tokens.push_back(std::move(eof));
      return tokens;
    }
    if (type == DlLexer::ERRCHAR) {
      // One report per run of adjacent stray bytes (a UTF-8 character is several).
      bool continuesRun = lastBadStop != INVALID_INDEX && token->getStartIndex() == lastBadStop + 1;
      lastBadStop = token->getStopIndex();
      if (continuesRun)
        continue;
      size_t start = token->getStartIndex();
      size_t end = start + 1;
      while (end < text.size() && (unsigned char)text[end] >= 0x80 &&
             (unsigned char)text[start] >= 0xC0 && end - start < 4)
        ++end;
      std::string shown(text.substr(start, end - start));
      if (shown.size() == 1 && ((unsigned char)shown[0] < 0x20 || shown[0] == 0x7f)) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02X", (unsigned char)shown[0]);
        shown = buf;
      }
      sink.lexical(DiagId::err_syntax, tokenLoc(fileId, token.get()),
                   {"unexpected character '" + shown + "'"});
      continue;
    }
    if (type == DlLexer::UNTERMINATED_STRING) {
      sink.lexical(DiagId::err_syntax, tokenLoc(fileId, token.get()),
                   {"unterminated string literal"});
      // Parse on as if the string were closed; the builder decodes up to the end.
      if (auto *common = dynamic_cast<antlr4::CommonToken *>(token.get()))
        common->setType(DlLexer::STRING);
    }
    tokens.push_back(std::move(token));
  }
}

bool canStartExpression(size_t type) {
  switch (type) {
  case DlLexer::INT:
  case DlLexer::FLOAT:
  case DlLexer::STRING:
  case DlLexer::TRUE:
  case DlLexer::FALSE:
  case DlLexer::SELF:
  case DlLexer::SELF_TYPE:
  case DlLexer::IDENT:
  case DlLexer::LPAREN:
  case DlLexer::LBRACK:
  case DlLexer::MINUS:
  case DlLexer::BANG:
  case DlLexer::AMP:
  case DlLexer::PIPE:
  case DlLexer::OROR: return true;
  default: return false;
  }
}

/// If tokens[lt] is a `<` opening explicit generic arguments (the tokens up to
/// the matching `>` can form types and the `>` is followed by `(`, `.`, a
/// closing bracket, `,`, `;` or the end of the line),
/// returns the index of that `>`; else 0.
size_t genericArgsEnd(const TokenList &tokens, size_t lt) {
  int depth = 0;
  for (size_t i = lt; i < tokens.size() && i < lt + 256; ++i) {
    switch (tokens[i]->getType()) {
    case DlLexer::LT: ++depth; break;
    case DlLexer::GT:
      if (--depth > 0)
        break;
      // As in Swift: what follows must end or continue a postfix expression.
      if (i + 1 >= tokens.size() || tokens[i + 1]->getType() == antlr4::Token::EOF ||
          tokens[i + 1]->getLine() != tokens[i]->getLine())
        return i;
      switch (tokens[i + 1]->getType()) {
      case DlLexer::LPAREN:
      case DlLexer::DOT:
      case DlLexer::RPAREN:
      case DlLexer::RBRACK:
      case DlLexer::RBRACE:
      case DlLexer::COMMA:
      case DlLexer::SEMI:
        return i;
      default:
        return 0;
      }
    case DlLexer::IDENT:
    case DlLexer::SELF_TYPE:
    case DlLexer::COMMA:
    case DlLexer::DOT:
    case DlLexer::LBRACK:
    case DlLexer::RBRACK:
    case DlLexer::LPAREN:
    case DlLexer::RPAREN:
    case DlLexer::ARROW:
    case DlLexer::INT:
    case DlLexer::INOUT: break;
    default: return 0;
    }
  }
  return 0;
}

void retype(antlr4::Token *token, size_t type) {
  if (auto *common = dynamic_cast<antlr4::CommonToken *>(token))
    common->setType(type);
}

/// Gives tokens whose meaning depends on line breaks or on their neighbours
/// the token kinds the grammar expects for them (see the `tokens` block in
/// grammar/Dl.g4). Doing this here keeps the grammar free of predicates.
void classifyTokens(TokenList &tokens) {
  for (size_t i = 0; i < tokens.size(); ++i) {
    antlr4::Token *token = tokens[i].get();
    antlr4::Token *prev = i > 0 ? tokens[i - 1].get() : nullptr;
    antlr4::Token *next = i + 1 < tokens.size() ? tokens[i + 1].get() : nullptr;
    bool opensLine = prev == nullptr || prev->getLine() != token->getLine();
    switch (token->getType()) {
    case DlLexer::LPAREN:
      if (opensLine)
        retype(token, DlParser::LPAREN_NL);
      break;
    case DlLexer::LBRACK:
      if (opensLine)
        retype(token, DlParser::LBRACK_NL);
      break;
    case DlLexer::AT:
      // `x\n  @ w` continues a product; `@inline` opening a line is an attribute.
      if (opensLine && next != nullptr && next->getType() == DlLexer::IDENT &&
          next->getStartIndex() == token->getStopIndex() + 1)
        retype(token, DlParser::ATTR_AT);
      break;
    case DlLexer::RETURN:
      if (next != nullptr && next->getLine() == token->getLine() &&
          canStartExpression(next->getType()))
        retype(token, DlParser::RETURN_VALUE);
      break;
    default:
      break;
    }
  }
  // After the line-based pass, so `Adam<MLP>` followed by a `(` on the next
  // line is not taken as the start of a call.
  for (size_t i = 1; i < tokens.size(); ++i) {
    size_t prev = tokens[i - 1]->getType();
    if (tokens[i]->getType() != DlLexer::LT ||
        (prev != DlLexer::IDENT && prev != DlLexer::SELF_TYPE))
      continue;
    if (size_t gt = genericArgsEnd(tokens, i)) {
      retype(tokens[i].get(), DlParser::GENERIC_LT);
      retype(tokens[gt].get(), DlParser::GENERIC_GT);
    }
  }
}

} // namespace

bool parseSourceFile(const SourceManager &sources, uint32_t fileId, ast::ASTContext &context,
                     DiagEngine &diags, ast::SourceFile &out) {
  out.fileId = fileId;
  if (out.path.empty())
    out.path = sources.name(fileId);
  std::string_view text = sources.text(fileId);
  if (!checkCommentNesting(text, fileId, diags))
    return false;

  SyntaxErrorSink sink(diags);
  try {
    ByteInputStream input(text);
    DlLexer lexer(&input);
    lexer.removeErrorListeners(); // ERRCHAR makes every input lexable
    TokenList lexed = lexAll(lexer, text, fileId, sink);
    classifyTokens(lexed);

    antlr4::ListTokenSource source(std::move(lexed));
    antlr4::CommonTokenStream tokens(&source);
    GuardedParser parser(&tokens);
    SyntaxErrorListener listener(sink, fileId);

    // Stage 1: SLL prediction, bailing at the first error. Almost every valid
    // file parses here; only files with errors (or rare LL-only decisions) pay
    // for stage 2.
    DlParser::SourceFileContext *tree = nullptr;
    parser.removeErrorListeners();
    parser.setErrorHandler(std::make_shared<antlr4::BailErrorStrategy>());
    parser.getInterpreter<antlr4::atn::ParserATNSimulator>()->setPredictionMode(
        antlr4::atn::PredictionMode::SLL);
    try {
      tree = parser.sourceFile();
    } catch (antlr4::ParseCancellationException &) {
      tree = nullptr;
    }

    // Stage 2: full LL with recovery, so one run reports several errors.
    if (tree == nullptr) {
      tokens.seek(0);
      parser.reset();
      parser.addErrorListener(&listener);
      parser.setErrorHandler(std::make_shared<SyntaxErrorStrategy>(text));
      parser.getInterpreter<antlr4::atn::ParserATNSimulator>()->setPredictionMode(
          antlr4::atn::PredictionMode::LL);
      tree = parser.sourceFile();
    }

    bool ok = sink.empty();
    sink.flush();
    // With errors, only items whose subtrees are free of them are built.
    if (!buildAST(tree, text, fileId, context, diags, out, /*cleanItemsOnly=*/!ok))
      ok = false;
    return ok;
  } catch (NestingTooDeep &e) {
    sink.lexical(DiagId::err_syntax, SourceLoc{fileId, uint32_t(e.line), uint32_t(e.col + 1)},
                 {"expression or block is nested too deeply"});
  } catch (TooManyErrors &) {
    // Already collected; the parse tree is incomplete, so nothing is built.
  } catch (std::exception &e) {
    sink.lexical(DiagId::err_syntax, SourceLoc{fileId, 1, 1},
                 {std::string("cannot parse this file: ") + e.what()});
  } catch (...) {
    sink.lexical(DiagId::err_syntax, SourceLoc{fileId, 1, 1}, {"cannot parse this file"});
  }
  sink.flush();
  return false;
}

} // namespace dlc
