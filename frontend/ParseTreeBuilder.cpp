// The parse-tree → AST builder: walks the DlParser tree of one file and creates
// AST nodes (frontend/AST.h) with source locations, decoding literals and
// checking attribute names on the way. Consumes a parse tree and the file's
// text; produces the decls and top-level statements of an ast::SourceFile.
// It never trusts the tree's shape: a child that is missing yields no node.
#include "frontend/ParseTreeBuilder.h"

#include <antlr4-runtime.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace dlc {

namespace {

using grammar::DlParser;
using namespace ast;

/// Nodes nested deeper than this are refused (sema and the dumper recurse).
constexpr unsigned kMaxDepth = 1000;

const char *const kKnownAttributes[] = {"differentiable", "noDerivative", "vjp", "jvp",
                                        "inline",         "export"};

/// True when no rule in `tree` failed and it holds no error node (a token the
/// parser conjured or skipped while recovering).
bool isClean(antlr4::tree::ParseTree *tree) {
  if (tree == nullptr)
    return false;
  if (dynamic_cast<antlr4::tree::ErrorNode *>(tree) != nullptr)
    return false;
  if (auto *rule = dynamic_cast<antlr4::ParserRuleContext *>(tree)) {
    if (rule->exception != nullptr)
      return false;
  }
  for (antlr4::tree::ParseTree *child : tree->children)
    if (!isClean(child))
      return false;
  return true;
}

class Builder {
public:
  Builder(std::string_view text, uint32_t fileId, ASTContext &context, DiagEngine &diags)
      : source(text), fileId(fileId), context(context), diags(diags) {}

  bool ok = true;

  void buildFile(DlParser::SourceFileContext *tree, SourceFile &out, bool cleanItemsOnly) {
    for (DlParser::ItemContext *item : tree->item()) {
      if (item == nullptr || (cleanItemsOnly && !isClean(item)))
        continue;
      if (auto *declItem = dynamic_cast<DlParser::DeclItemContext *>(item)) {
        if (Decl *decl = buildDeclaration(declItem))
          out.decls.push_back(decl);
        continue;
      }
      if (auto *stmtItem = dynamic_cast<DlParser::StmtItemContext *>(item)) {
        if (Stmt *stmt = buildStmt(stmtItem->statement()))
          out.topLevelStmts.push_back(stmt);
      }
    }
  }

private:
  // --- Tokens and locations -------------------------------------------------

  SourceLoc loc(const antlr4::Token *token) const {
    if (token == nullptr)
      return SourceLoc{fileId, 1, 1};
    return SourceLoc{fileId, uint32_t(token->getLine()),
                     uint32_t(token->getCharPositionInLine() + 1)};
  }
  SourceLoc loc(antlr4::tree::TerminalNode *node) const {
    return loc(node ? node->getSymbol() : nullptr);
  }
  SourceLoc loc(antlr4::ParserRuleContext *ctx) const {
    return loc(ctx ? ctx->getStart() : nullptr);
  }

  std::string textOf(const antlr4::Token *token) const {
    if (token == nullptr)
      return "";
    size_t start = token->getStartIndex();
    size_t stop = token->getStopIndex();
    if (start == INVALID_INDEX || stop == INVALID_INDEX || start > stop || stop >= source.size())
      return token->getText();
    return std::string(source.substr(start, stop - start + 1));
  }
  std::string textOf(antlr4::tree::TerminalNode *node) const {
    return textOf(node ? node->getSymbol() : nullptr);
  }
  std::string textOf(antlr4::ParserRuleContext *ctx) const {
    if (ctx == nullptr || ctx->getStart() == nullptr || ctx->getStop() == nullptr)
      return "";
    size_t start = ctx->getStart()->getStartIndex();
    size_t stop = ctx->getStop()->getStopIndex();
    if (start == INVALID_INDEX || stop == INVALID_INDEX || start > stop || stop >= source.size())
      return ctx->getText();
    return std::string(source.substr(start, stop - start + 1));
  }

  void error(DiagId id, SourceLoc at, std::vector<std::string> args) {
    diags.report(id, at, std::move(args));
    ok = false;
  }

  /// Counts recursion so absurdly nested input is refused, not overflowed.
  class DepthGuard {
  public:
    DepthGuard(Builder &b, SourceLoc at, unsigned extra = 1) : b(b), extra(extra) {
      b.depth += extra;
      if (b.depth > kMaxDepth && !b.reportedDepth) {
        b.reportedDepth = true;
        b.error(DiagId::err_syntax, at, {"expression or block is nested too deeply"});
      }
    }
    ~DepthGuard() { b.depth -= extra; }
    bool tooDeep() const { return b.depth > kMaxDepth; }

  private:
    Builder &b;
    unsigned extra;
  };

  // --- Attributes -----------------------------------------------------------

  std::vector<Attribute> buildAttributes(const std::vector<DlParser::AttributeContext *> &attrs) {
    std::vector<Attribute> out;
    for (DlParser::AttributeContext *a : attrs) {
      if (a == nullptr || a->IDENT() == nullptr)
        continue;
      Attribute attr;
      attr.name = textOf(a->IDENT());
      attr.loc = loc(a);
      bool known = false;
      for (const char *name : kKnownAttributes)
        known = known || attr.name == name;
      if (!known) {
        error(DiagId::err_unknown_attribute, loc(a->IDENT()), {attr.name});
        continue;
      }
      for (DlParser::AttrArgContext *arg : a->attrArg()) {
        if (arg == nullptr || arg->attrValue() == nullptr)
          continue;
        Attribute::Arg out;
        if (arg->anyName() != nullptr)
          out.label = textOf(arg->anyName());
        out.value = textOf(arg->attrValue());
        out.loc = loc(arg->attrValue());
        attr.args.push_back(std::move(out));
      }
      out.push_back(std::move(attr));
    }
    return out;
  }

  // --- Declarations ------------------------------------------------------------

  Decl *buildDeclaration(DlParser::DeclItemContext *item) {
    DlParser::DeclarationContext *d = item->declaration();
    if (d == nullptr)
      return nullptr;
    std::vector<Attribute> attrs = buildAttributes(item->attribute());
    Decl *decl = nullptr;
    if (d->importDecl() != nullptr)
      decl = buildImport(d->importDecl());
    else if (d->funcDecl() != nullptr)
      decl = buildFunc(d->funcDecl(), FuncDecl::Kind::Function, nullptr);
    else if (d->externDecl() != nullptr)
      decl = buildExtern(d->externDecl());
    else if (d->structDecl() != nullptr)
      decl = buildStruct(d->structDecl());
    else if (d->traitDecl() != nullptr)
      decl = buildTrait(d->traitDecl());
    if (decl != nullptr)
      decl->attributes = std::move(attrs);
    return decl;
  }

  Decl *buildImport(DlParser::ImportDeclContext *ctx) {
    auto *decl = context.make<ImportDecl>(loc(ctx));
    if (ctx->STRING() != nullptr) {
      decl->isPath = true;
      decl->name = decodeString(ctx->STRING());
      decl->nameLoc = loc(ctx->STRING());
      return decl;
    }
    if (ctx->IDENT() == nullptr)
      return nullptr;
    decl->name = textOf(ctx->IDENT());
    decl->nameLoc = loc(ctx->IDENT());
    return decl;
  }

  FuncDecl *buildFunc(DlParser::FuncDeclContext *ctx, FuncDecl::Kind kind, StructDecl *parent) {
    if (ctx == nullptr)
      return nullptr;
    return buildFunc(ctx->funcSignature(), ctx->block(), kind, parent, nullptr);
  }

  FuncDecl *buildFunc(DlParser::FuncSignatureContext *ctx, DlParser::BlockContext *body,
                      FuncDecl::Kind kind, StructDecl *parent, TraitDecl *parentTrait) {
    if (ctx == nullptr || ctx->IDENT() == nullptr)
      return nullptr;
    auto *fn = context.make<FuncDecl>(loc(ctx));
    fn->funcKind = kind;
    fn->parent = parent;
    fn->parentTrait = parentTrait;
    fn->name = textOf(ctx->IDENT());
    fn->nameLoc = loc(ctx->IDENT());
    for (DlParser::FuncModifierContext *m : ctx->funcModifier()) {
      if (m->MUTATING() != nullptr)
        fn->isMutating = true;
      if (m->STATIC() != nullptr)
        fn->isStatic = true;
    }
    if (ctx->genericParams() != nullptr)
      fn->genericParams = buildGenericParams(ctx->genericParams());
    buildParams(ctx->paramList(), fn);
    if (ctx->type() != nullptr)
      fn->resultRepr = buildType(ctx->type());
    if (body != nullptr)
      fn->body = buildBlock(body);
    if (kind == FuncDecl::Kind::Requirement && fn->body != nullptr)
      error(DiagId::err_syntax, loc(body), {"a trait requirement cannot have a body"});
    return fn;
  }

  FuncDecl *buildExtern(DlParser::ExternDeclContext *ctx) {
    if (ctx->IDENT() == nullptr)
      return nullptr;
    auto *fn = context.make<FuncDecl>(loc(ctx));
    fn->funcKind = FuncDecl::Kind::Extern;
    fn->name = textOf(ctx->IDENT());
    fn->nameLoc = loc(ctx->IDENT());
    buildParams(ctx->paramList(), fn);
    if (ctx->type() != nullptr)
      fn->resultRepr = buildType(ctx->type());
    return fn;
  }

  FuncDecl *buildInit(DlParser::InitDeclContext *ctx, StructDecl *parent) {
    auto *fn = context.make<FuncDecl>(loc(ctx));
    fn->funcKind = FuncDecl::Kind::Init;
    fn->parent = parent;
    fn->name = "init";
    fn->nameLoc = loc(ctx->INIT());
    buildParams(ctx->paramList(), fn);
    if (ctx->block() != nullptr)
      fn->body = buildBlock(ctx->block());
    return fn;
  }

  void buildParams(DlParser::ParamListContext *list, FuncDecl *fn) {
    if (list == nullptr)
      return;
    bool isMember =
        fn->funcKind == FuncDecl::Kind::Method || fn->funcKind == FuncDecl::Kind::Requirement;
    bool first = true;
    for (DlParser::ParamContext *p : list->param()) {
      bool wasFirst = first;
      first = false;
      if (auto *self = dynamic_cast<DlParser::SelfParamContext *>(p)) {
        if (!isMember || !wasFirst) {
          error(DiagId::err_syntax, loc(self->SELF()),
                {isMember ? "'self' must be the first parameter"
                          : "only methods can take a 'self' parameter"});
          continue;
        }
        auto *param = context.make<ParamDecl>(loc(self->SELF()));
        param->name = "self";
        param->label = "self";
        param->nameLoc = loc(self->SELF());
        param->isSelf = true;
        fn->selfParam = param;
        continue;
      }
      if (auto *named = dynamic_cast<DlParser::NamedParamContext *>(p)) {
        if (ParamDecl *param = buildNamedParam(named))
          fn->params.push_back(param);
      }
    }
  }

  ParamDecl *buildNamedParam(DlParser::NamedParamContext *ctx) {
    if (ctx->IDENT() == nullptr || ctx->type() == nullptr)
      return nullptr;
    auto *param = context.make<ParamDecl>(loc(ctx));
    param->attributes = buildAttributes(ctx->attribute());
    param->name = textOf(ctx->IDENT());
    param->nameLoc = loc(ctx->IDENT());
    param->label = ctx->anyName() != nullptr ? textOf(ctx->anyName()) : param->name;
    param->isInout = ctx->INOUT() != nullptr;
    param->typeRepr = buildType(ctx->type());
    return param;
  }

  std::vector<GenericParamDecl *> buildGenericParams(DlParser::GenericParamsContext *ctx) {
    std::vector<GenericParamDecl *> out;
    for (DlParser::GenericParamContext *g : ctx->genericParam()) {
      if (g == nullptr || g->IDENT() == nullptr)
        continue;
      auto *param = context.make<GenericParamDecl>(loc(g));
      param->name = textOf(g->IDENT());
      param->nameLoc = loc(g->IDENT());
      for (DlParser::TypeContext *bound : g->type())
        if (TypeRepr *t = buildType(bound))
          param->bounds.push_back(t);
      out.push_back(param);
    }
    return out;
  }

  Decl *buildStruct(DlParser::StructDeclContext *ctx) {
    if (ctx->IDENT() == nullptr)
      return nullptr;
    auto *decl = context.make<StructDecl>(loc(ctx));
    decl->name = textOf(ctx->IDENT());
    decl->nameLoc = loc(ctx->IDENT());
    if (ctx->genericParams() != nullptr)
      decl->genericParams = buildGenericParams(ctx->genericParams());
    if (ctx->typeList() != nullptr)
      decl->conformances = buildTypeList(ctx->typeList());
    for (DlParser::StructMemberContext *member : ctx->structMember()) {
      if (member == nullptr)
        continue;
      std::vector<Attribute> attrs = buildAttributes(member->attribute());
      Decl *built = nullptr;
      if (member->fieldDecl() != nullptr) {
        if (VarDecl *field = buildField(member->fieldDecl())) {
          field->fieldIndex = unsigned(decl->fields.size());
          decl->fields.push_back(field);
          built = field;
        }
      } else if (member->funcDecl() != nullptr) {
        if (FuncDecl *fn = buildFunc(member->funcDecl(), FuncDecl::Kind::Method, decl)) {
          decl->methods.push_back(fn);
          built = fn;
        }
      } else if (member->initDecl() != nullptr) {
        FuncDecl *fn = buildInit(member->initDecl(), decl);
        decl->inits.push_back(fn);
        built = fn;
      }
      if (built != nullptr)
        built->attributes = std::move(attrs);
    }
    return decl;
  }

  VarDecl *buildField(DlParser::FieldDeclContext *ctx) {
    if (ctx->IDENT() == nullptr || ctx->type() == nullptr)
      return nullptr;
    auto *field = context.make<VarDecl>(loc(ctx));
    field->isField = true;
    field->isMutable = ctx->VAR() != nullptr;
    field->name = textOf(ctx->IDENT());
    field->nameLoc = loc(ctx->IDENT());
    field->typeRepr = buildType(ctx->type());
    if (ctx->expr() != nullptr)
      field->init = buildExpr(ctx->expr());
    return field;
  }

  Decl *buildTrait(DlParser::TraitDeclContext *ctx) {
    if (ctx->IDENT() == nullptr)
      return nullptr;
    auto *decl = context.make<TraitDecl>(loc(ctx));
    decl->name = textOf(ctx->IDENT());
    decl->nameLoc = loc(ctx->IDENT());
    if (ctx->typeList() != nullptr)
      decl->refines = buildTypeList(ctx->typeList());
    for (DlParser::TraitMemberContext *member : ctx->traitMember()) {
      if (member == nullptr)
        continue;
      std::vector<Attribute> attrs = buildAttributes(member->attribute());
      DlParser::RequirementDeclContext *req = member->requirementDecl();
      if (req == nullptr)
        continue;
      FuncDecl *fn =
          buildFunc(req->funcSignature(), req->block(), FuncDecl::Kind::Requirement, nullptr, decl);
      if (fn == nullptr)
        continue;
      fn->attributes = std::move(attrs);
      decl->requirements.push_back(fn);
    }
    return decl;
  }

  // --- Types ---------------------------------------------------------------------

  std::vector<TypeRepr *> buildTypeList(DlParser::TypeListContext *ctx) {
    std::vector<TypeRepr *> out;
    for (DlParser::TypeContext *t : ctx->type())
      if (TypeRepr *repr = buildType(t))
        out.push_back(repr);
    return out;
  }

  TypeRepr *buildType(DlParser::TypeContext *ctx) {
    if (ctx == nullptr)
      return nullptr;
    DepthGuard guard(*this, loc(ctx));
    if (guard.tooDeep())
      return nullptr;
    if (auto *paren = dynamic_cast<DlParser::ParenTypeContext *>(ctx))
      return buildParenType(paren);
    if (auto *array = dynamic_cast<DlParser::ArrayTypeContext *>(ctx)) {
      TypeRepr *element = buildType(array->type());
      if (element == nullptr)
        return nullptr;
      auto *repr = context.make<ArrayTypeRepr>(loc(ctx));
      repr->element = element;
      return repr;
    }
    if (auto *named = dynamic_cast<DlParser::NamedTypeContext *>(ctx))
      return buildNamedType(named);
    return nullptr;
  }

  TypeRepr *buildParenType(DlParser::ParenTypeContext *ctx) {
    std::vector<TypeRepr *> elements;
    std::vector<bool> inout;
    for (DlParser::TypeElemContext *e : ctx->typeElem()) {
      TypeRepr *t = e ? buildType(e->type()) : nullptr;
      if (t == nullptr)
        return nullptr;
      elements.push_back(t);
      inout.push_back(e->INOUT() != nullptr);
    }
    if (ctx->ARROW() != nullptr) {
      auto *fn = context.make<FunctionTypeRepr>(loc(ctx));
      fn->params = std::move(elements);
      fn->paramInout = std::move(inout);
      fn->result = buildType(ctx->type());
      return fn->result ? fn : nullptr;
    }
    for (size_t i = 0; i < inout.size(); ++i)
      if (inout[i])
        error(DiagId::err_syntax, loc(ctx->typeElem(i)),
              {"'inout' is only allowed on the parameters of a function type"});
    // `(T)` is just T.
    if (elements.size() == 1)
      return elements[0];
    auto *tuple = context.make<TupleTypeRepr>(loc(ctx));
    tuple->elements = std::move(elements);
    return tuple;
  }

  TypeRepr *buildNamedType(DlParser::NamedTypeContext *ctx) {
    auto *named = context.make<NamedTypeRepr>(loc(ctx));
    for (DlParser::TypeComponentContext *c : ctx->typeComponent()) {
      if (c == nullptr)
        return nullptr;
      NamedTypeRepr::Component component;
      antlr4::tree::TerminalNode *name = c->IDENT() ? c->IDENT() : c->SELF_TYPE();
      if (name == nullptr)
        return nullptr;
      component.name = textOf(name);
      component.loc = loc(name);
      if (c->genericArgs() != nullptr &&
          !buildTypes(c->genericArgs()->type(), component.genericArgs))
        return nullptr;
      named->components.push_back(std::move(component));
    }
    if (ctx->shape() == nullptr)
      return named;
    auto *shaped = context.make<ShapedTypeRepr>(loc(ctx));
    shaped->base = named;
    for (DlParser::DimContext *d : ctx->shape()->dim()) {
      if (d == nullptr)
        continue;
      ShapedTypeRepr::Dim dim;
      dim.loc = loc(d);
      if (d->INT() != nullptr) {
        dim.kind = ShapedTypeRepr::Dim::Kind::Literal;
        dim.value = int64_t(parseInt(d->INT()));
      } else if (d->IDENT() != nullptr && textOf(d->IDENT()) == "_") {
        dim.kind = ShapedTypeRepr::Dim::Kind::Wildcard;
      } else if (d->IDENT() != nullptr) {
        dim.kind = ShapedTypeRepr::Dim::Kind::Variable;
        dim.name = textOf(d->IDENT());
      } else {
        continue;
      }
      shaped->dims.push_back(std::move(dim));
    }
    return shaped;
  }

  bool buildTypes(const std::vector<DlParser::TypeContext *> &types, std::vector<TypeRepr *> &out) {
    for (DlParser::TypeContext *t : types) {
      TypeRepr *repr = buildType(t);
      if (repr == nullptr)
        return false;
      out.push_back(repr);
    }
    return true;
  }

  // --- Patterns ------------------------------------------------------------------

  Pattern *buildPattern(DlParser::PatternContext *ctx, bool isMutable) {
    if (ctx == nullptr)
      return nullptr;
    DepthGuard guard(*this, loc(ctx));
    if (guard.tooDeep())
      return nullptr;
    if (auto *ident = dynamic_cast<DlParser::IdentPatternContext *>(ctx)) {
      if (ident->IDENT() == nullptr)
        return nullptr;
      std::string name = textOf(ident->IDENT());
      if (name == "_")
        return context.make<WildcardPattern>(loc(ctx));
      auto *pattern = context.make<IdentPattern>(loc(ctx));
      auto *var = context.make<VarDecl>(loc(ident->IDENT()));
      var->name = name;
      var->nameLoc = loc(ident->IDENT());
      var->isMutable = isMutable;
      pattern->var = var;
      return pattern;
    }
    auto *tuple = dynamic_cast<DlParser::TuplePatternContext *>(ctx);
    if (tuple == nullptr)
      return nullptr;
    std::vector<Pattern *> elements;
    for (DlParser::PatternContext *p : tuple->pattern()) {
      Pattern *element = buildPattern(p, isMutable);
      if (element == nullptr)
        return nullptr;
      elements.push_back(element);
    }
    // `(a)` is just a.
    if (elements.size() == 1 && tuple->COMMA().empty())
      return elements[0];
    auto *pattern = context.make<TuplePattern>(loc(ctx));
    pattern->elements = std::move(elements);
    return pattern;
  }

  // --- Statements ----------------------------------------------------------------

  BlockStmt *buildBlock(DlParser::BlockContext *ctx) {
    if (ctx == nullptr)
      return nullptr;
    DepthGuard guard(*this, loc(ctx));
    if (guard.tooDeep())
      return nullptr;
    auto *block = context.make<BlockStmt>(loc(ctx));
    block->endLoc = loc(ctx->RBRACE());
    for (DlParser::StatementContext *s : ctx->statement())
      if (Stmt *stmt = buildStmt(s))
        block->stmts.push_back(stmt);
    return block;
  }

  Stmt *buildStmt(DlParser::StatementContext *ctx) {
    if (ctx == nullptr)
      return nullptr;
    DepthGuard guard(*this, loc(ctx));
    if (guard.tooDeep())
      return nullptr;
    if (ctx->letStmt() != nullptr)
      return buildLet(ctx->letStmt());
    if (ctx->ifStmt() != nullptr)
      return buildIf(ctx->ifStmt());
    if (auto *w = ctx->whileStmt()) {
      auto *stmt = context.make<WhileStmt>(loc(w));
      stmt->cond = buildExpr(w->expr());
      stmt->body = buildBlock(w->block());
      return stmt->cond && stmt->body ? stmt : nullptr;
    }
    if (auto *f = ctx->forStmt()) {
      auto *stmt = context.make<ForInStmt>(loc(f));
      stmt->pattern = buildPattern(f->pattern(), /*isMutable=*/false);
      stmt->sequence = buildExpr(f->expr());
      stmt->body = buildBlock(f->block());
      return stmt->pattern && stmt->sequence && stmt->body ? stmt : nullptr;
    }
    if (auto *r = ctx->returnStmt()) {
      auto *stmt = context.make<ReturnStmt>(loc(r));
      if (r->expr() != nullptr && (stmt->value = buildExpr(r->expr())) == nullptr)
        return nullptr;
      return stmt;
    }
    if (ctx->breakStmt() != nullptr)
      return context.make<BreakStmt>(loc(ctx));
    if (ctx->continueStmt() != nullptr)
      return context.make<ContinueStmt>(loc(ctx));
    if (ctx->block() != nullptr)
      return buildBlock(ctx->block());
    if (ctx->simpleStmt() != nullptr)
      return buildSimple(ctx->simpleStmt());
    return nullptr;
  }

  Stmt *buildLet(DlParser::LetStmtContext *ctx) {
    auto *stmt = context.make<LetStmt>(loc(ctx));
    stmt->isMutable = ctx->VAR() != nullptr;
    stmt->pattern = buildPattern(ctx->pattern(), stmt->isMutable);
    if (stmt->pattern == nullptr)
      return nullptr;
    if (ctx->type() != nullptr && (stmt->typeRepr = buildType(ctx->type())) == nullptr)
      return nullptr;
    if (ctx->expr() != nullptr && (stmt->init = buildExpr(ctx->expr())) == nullptr)
      return nullptr;
    if (auto *ident = dynCast<IdentPattern>(stmt->pattern))
      ident->var->typeRepr = stmt->typeRepr;
    return stmt;
  }

  Stmt *buildIf(DlParser::IfStmtContext *ctx) {
    DepthGuard guard(*this, loc(ctx));
    if (guard.tooDeep())
      return nullptr;
    auto *stmt = context.make<IfStmt>(loc(ctx));
    stmt->cond = buildExpr(ctx->expr());
    stmt->thenBlock = buildBlock(ctx->block(0));
    if (stmt->cond == nullptr || stmt->thenBlock == nullptr)
      return nullptr;
    if (ctx->ifStmt() != nullptr)
      stmt->elseStmt = buildIf(ctx->ifStmt());
    else if (ctx->ELSE() != nullptr)
      stmt->elseStmt = buildBlock(ctx->block(1));
    if (ctx->ELSE() != nullptr && stmt->elseStmt == nullptr)
      return nullptr;
    return stmt;
  }

  Stmt *buildSimple(DlParser::SimpleStmtContext *ctx) {
    Expr *target = buildExpr(ctx->expr(0));
    if (target == nullptr)
      return nullptr;
    DlParser::AssignOpContext *op = ctx->assignOp();
    if (op == nullptr) {
      auto *stmt = context.make<ExprStmt>(loc(ctx));
      stmt->expr = target;
      return stmt;
    }
    auto *stmt = context.make<AssignStmt>(loc(ctx));
    stmt->target = target;
    stmt->opLoc = loc(op);
    std::string spelling = textOf(op);
    stmt->op = spelling.size() == 2 ? spelling[0] : '=';
    stmt->value = buildExpr(ctx->expr(1));
    return stmt->value ? stmt : nullptr;
  }

  // --- Expressions ----------------------------------------------------------------

  Expr *buildExpr(DlParser::ExprContext *ctx) {
    if (ctx == nullptr)
      return nullptr;
    return buildTernary(ctx->ternaryExpr());
  }

  Expr *buildTernary(DlParser::TernaryExprContext *ctx) {
    if (ctx == nullptr)
      return nullptr;
    DepthGuard guard(*this, loc(ctx));
    if (guard.tooDeep())
      return nullptr;
    Expr *cond = buildBinaryChain(ctx->orExpr());
    if (cond == nullptr || ctx->QUESTION() == nullptr)
      return cond;
    auto *expr = context.make<TernaryExpr>(loc(ctx));
    expr->cond = cond;
    expr->thenExpr = buildExpr(ctx->expr());
    expr->elseExpr = buildTernary(ctx->ternaryExpr());
    return expr->thenExpr && expr->elseExpr ? expr : nullptr;
  }

  static bool binaryOpFor(size_t tokenType, BinaryOp &op) {
    switch (tokenType) {
    case DlParser::OROR: op = BinaryOp::Or; return true;
    case DlParser::ANDAND: op = BinaryOp::And; return true;
    case DlParser::EQEQ: op = BinaryOp::Eq; return true;
    case DlParser::NE: op = BinaryOp::Ne; return true;
    case DlParser::LT: op = BinaryOp::Lt; return true;
    case DlParser::LE: op = BinaryOp::Le; return true;
    case DlParser::GT: op = BinaryOp::Gt; return true;
    case DlParser::GE: op = BinaryOp::Ge; return true;
    case DlParser::HALFOPEN: op = BinaryOp::HalfOpenRange; return true;
    case DlParser::CLOSED: op = BinaryOp::ClosedRange; return true;
    case DlParser::PLUS: op = BinaryOp::Add; return true;
    case DlParser::MINUS: op = BinaryOp::Sub; return true;
    case DlParser::STAR: op = BinaryOp::Mul; return true;
    case DlParser::SLASH: op = BinaryOp::Div; return true;
    case DlParser::PERCENT: op = BinaryOp::Rem; return true;
    case DlParser::AT: op = BinaryOp::MatMul; return true;
    default: return false;
    }
  }

  /// Any of the left-associative binary levels (or, and, comparison, range,
  /// additive, multiplicative, `@`): operands alternate with operator tokens,
  /// folded left. Below `@` the operand is a unary expression.
  Expr *buildBinaryChain(antlr4::ParserRuleContext *ctx) {
    if (ctx == nullptr)
      return nullptr;
    if (auto *unary = dynamic_cast<DlParser::UnaryExprContext *>(ctx))
      return buildUnary(unary);
    const std::vector<antlr4::tree::ParseTree *> &children = ctx->children;
    if (children.empty())
      return nullptr;
    // A long chain folds into a deep left spine; count it like nesting.
    DepthGuard guard(*this, loc(ctx), unsigned(children.size() / 2));
    if (guard.tooDeep())
      return nullptr;
    Expr *lhs = buildBinaryChain(dynamic_cast<antlr4::ParserRuleContext *>(children[0]));
    for (size_t i = 1; lhs != nullptr && i + 1 < children.size(); i += 2) {
      auto *opNode = dynamic_cast<antlr4::tree::TerminalNode *>(children[i]);
      BinaryOp op;
      if (opNode == nullptr || !binaryOpFor(opNode->getSymbol()->getType(), op))
        return nullptr;
      Expr *rhs = buildBinaryChain(dynamic_cast<antlr4::ParserRuleContext *>(children[i + 1]));
      if (rhs == nullptr)
        return nullptr;
      auto *bin = context.make<BinaryExpr>(loc(opNode));
      bin->op = op;
      bin->opLoc = loc(opNode);
      bin->lhs = lhs;
      bin->rhs = rhs;
      lhs = bin;
    }
    return lhs;
  }

  Expr *buildUnary(DlParser::UnaryExprContext *ctx) {
    DepthGuard guard(*this, loc(ctx));
    if (guard.tooDeep())
      return nullptr;
    if (ctx->postfixExpr() != nullptr)
      return buildPostfix(ctx->postfixExpr());
    Expr *operand = buildUnary(ctx->unaryExpr());
    if (operand == nullptr)
      return nullptr;
    if (ctx->AMP() != nullptr) {
      auto *inout = context.make<InOutExpr>(loc(ctx));
      inout->operand = operand;
      return inout;
    }
    auto *expr = context.make<UnaryExpr>(loc(ctx));
    expr->op = ctx->BANG() != nullptr ? '!' : '-';
    expr->operand = operand;
    return expr;
  }

  Expr *buildPostfix(DlParser::PostfixExprContext *ctx) {
    std::vector<DlParser::PostfixOpContext *> ops = ctx->postfixOp();
    DepthGuard guard(*this, loc(ctx), unsigned(ops.size()));
    if (guard.tooDeep())
      return nullptr;
    Expr *base = buildPrimary(ctx->primary());
    SourceLoc start = loc(ctx);
    for (size_t i = 0; base != nullptr && i < ops.size(); ++i) {
      if (auto *call = dynamic_cast<DlParser::CallOpContext *>(ops[i])) {
        base = buildCall(call, base, start);
      } else if (auto *index = dynamic_cast<DlParser::IndexOpContext *>(ops[i])) {
        auto *expr = context.make<IndexExpr>(start);
        expr->base = base;
        for (DlParser::ExprContext *e : index->expr()) {
          Expr *idx = buildExpr(e);
          if (idx == nullptr)
            return nullptr;
          expr->indices.push_back(idx);
        }
        base = expr;
      } else if (auto *member = dynamic_cast<DlParser::MemberOpContext *>(ops[i])) {
        base = buildMember(member, base, start);
      } else {
        return nullptr;
      }
    }
    return base;
  }

  Expr *buildCall(DlParser::CallOpContext *ctx, Expr *callee, SourceLoc start) {
    auto *call = context.make<CallExpr>(start);
    call->callee = callee;
    call->rparenLoc = loc(ctx->RPAREN());
    for (DlParser::ArgContext *a : ctx->arg()) {
      if (a == nullptr)
        return nullptr;
      Argument arg;
      if (a->anyName() != nullptr) {
        arg.label = textOf(a->anyName());
        arg.labelLoc = loc(a->anyName());
      }
      arg.value = buildExpr(a->expr());
      if (arg.value == nullptr)
        return nullptr;
      call->args.push_back(std::move(arg));
    }
    return call;
  }

  /// `a.b`, `t.0`, and `t.0.1`, which the lexer sees as `t` `.` `0.1` (a float).
  Expr *buildMember(DlParser::MemberOpContext *ctx, Expr *base, SourceLoc start) {
    auto makeMember = [&](Expr *b, std::string name, SourceLoc at) {
      auto *expr = context.make<MemberExpr>(start);
      expr->base = b;
      expr->member = std::move(name);
      expr->memberLoc = at;
      return expr;
    };
    if (ctx->IDENT() != nullptr)
      return makeMember(base, textOf(ctx->IDENT()), loc(ctx->IDENT()));
    if (ctx->INT() != nullptr)
      return makeMember(base, textOf(ctx->INT()), loc(ctx->INT()));
    if (ctx->FLOAT() == nullptr)
      return nullptr;
    std::string digits = textOf(ctx->FLOAT());
    SourceLoc at = loc(ctx->FLOAT());
    size_t dot = digits.find('.');
    bool plain = dot != std::string::npos && dot > 0 && dot + 1 < digits.size() &&
                 digits.find_first_not_of("0123456789.") == std::string::npos &&
                 digits.find('.', dot + 1) == std::string::npos;
    if (!plain) {
      error(DiagId::err_syntax, at, {"expected a tuple element number, found '" + digits + "'"});
      return nullptr;
    }
    Expr *first = makeMember(base, digits.substr(0, dot), at);
    SourceLoc secondLoc{at.file, at.line, at.col + uint32_t(dot) + 1};
    return makeMember(first, digits.substr(dot + 1), secondLoc);
  }

  Expr *buildPrimary(DlParser::PrimaryContext *ctx) {
    if (ctx == nullptr)
      return nullptr;
    SourceLoc at = loc(ctx);
    if (auto *lit = dynamic_cast<DlParser::IntLitContext *>(ctx)) {
      auto *expr = context.make<IntLitExpr>(at);
      expr->text = textOf(lit->INT());
      expr->value = parseInt(lit->INT());
      return expr;
    }
    if (auto *lit = dynamic_cast<DlParser::FloatLitContext *>(ctx)) {
      auto *expr = context.make<FloatLitExpr>(at);
      expr->text = textOf(lit->FLOAT());
      expr->value = parseFloat(lit->FLOAT());
      return expr;
    }
    if (auto *lit = dynamic_cast<DlParser::StringLitContext *>(ctx)) {
      auto *expr = context.make<StringLitExpr>(at);
      expr->value = decodeString(lit->STRING());
      return expr;
    }
    if (auto *lit = dynamic_cast<DlParser::BoolLitContext *>(ctx)) {
      auto *expr = context.make<BoolLitExpr>(at);
      expr->value = lit->TRUE() != nullptr;
      return expr;
    }
    if (dynamic_cast<DlParser::SelfExprContext *>(ctx) != nullptr)
      return context.make<SelfExpr>(at);
    if (auto *name = dynamic_cast<DlParser::NameExprContext *>(ctx)) {
      auto *expr = context.make<NameExpr>(at);
      expr->name = textOf(name->IDENT() ? name->IDENT() : name->SELF_TYPE());
      if (name->explicitGenericArgs() != nullptr &&
          !buildTypes(name->explicitGenericArgs()->type(), expr->genericArgs))
        return nullptr;
      return expr;
    }
    if (auto *paren = dynamic_cast<DlParser::ParenExprContext *>(ctx))
      return buildParen(paren);
    if (auto *array = dynamic_cast<DlParser::ArrayLitContext *>(ctx)) {
      auto *expr = context.make<ArrayLitExpr>(at);
      if (!buildExprList(array->expr(), expr->elements))
        return nullptr;
      return expr;
    }
    if (auto *lambda = dynamic_cast<DlParser::LambdaExprContext *>(ctx))
      return buildLambda(lambda);
    return nullptr;
  }

  bool buildExprList(const std::vector<DlParser::ExprContext *> &list, std::vector<Expr *> &out) {
    for (DlParser::ExprContext *e : list) {
      Expr *expr = buildExpr(e);
      if (expr == nullptr)
        return false;
      out.push_back(expr);
    }
    return true;
  }

  Expr *buildParen(DlParser::ParenExprContext *ctx) {
    std::vector<Expr *> elements;
    if (!buildExprList(ctx->expr(), elements))
      return nullptr;
    if (elements.size() == 1) {
      auto *expr = context.make<ParenExpr>(loc(ctx));
      expr->inner = elements[0];
      return expr;
    }
    auto *tuple = context.make<TupleExpr>(loc(ctx));
    tuple->elements = std::move(elements);
    return tuple;
  }

  Expr *buildLambda(DlParser::LambdaExprContext *ctx) {
    DlParser::LambdaHeadContext *head = ctx->lambdaHead();
    if (head == nullptr)
      return nullptr;
    auto *lambda = context.make<LambdaExpr>(loc(ctx));
    for (DlParser::LambdaParamContext *p : head->lambdaParam()) {
      if (p == nullptr || p->IDENT() == nullptr)
        return nullptr;
      auto *param = context.make<ParamDecl>(loc(p));
      param->name = textOf(p->IDENT());
      param->label = param->name;
      param->nameLoc = loc(p->IDENT());
      param->isInout = p->INOUT() != nullptr;
      if (p->type() != nullptr && (param->typeRepr = buildType(p->type())) == nullptr)
        return nullptr;
      lambda->params.push_back(param);
    }
    if (ctx->type() != nullptr && (lambda->resultRepr = buildType(ctx->type())) == nullptr)
      return nullptr;
    if (ctx->block() != nullptr) {
      lambda->body = buildBlock(ctx->block());
      return lambda->body ? lambda : nullptr;
    }
    Expr *value = buildExpr(ctx->expr());
    if (value == nullptr)
      return nullptr;
    auto *body = context.make<BlockStmt>(value->loc);
    auto *ret = context.make<ReturnStmt>(loc(ctx->expr()));
    ret->value = value;
    ret->implicit = true;
    body->stmts.push_back(ret);
    body->endLoc = loc(ctx->expr()->getStop());
    lambda->body = body;
    lambda->expressionBody = true;
    return lambda;
  }

  // --- Literals ---------------------------------------------------------------------

  /// `42`, `1_000`, `0x1F`; a value past UINT64_MAX is err_bad_literal (sema
  /// checks the range of the literal's type).
  uint64_t parseInt(antlr4::tree::TerminalNode *node) {
    std::string spelling = textOf(node);
    bool hex =
        spelling.size() > 2 && spelling[0] == '0' && (spelling[1] == 'x' || spelling[1] == 'X');
    unsigned base = hex ? 16 : 10;
    uint64_t value = 0;
    bool sawDigit = false;
    for (size_t i = hex ? 2 : 0; i < spelling.size(); ++i) {
      char c = spelling[i];
      if (c == '_')
        continue;
      unsigned digit = c >= '0' && c <= '9'   ? unsigned(c - '0')
                       : c >= 'a' && c <= 'f' ? unsigned(c - 'a' + 10)
                       : c >= 'A' && c <= 'F' ? unsigned(c - 'A' + 10)
                                              : 99u;
      if (digit >= base || value > (UINT64_MAX - digit) / base) {
        error(DiagId::err_bad_literal, loc(node), {"integer", spelling});
        return 0;
      }
      value = value * base + digit;
      sawDigit = true;
    }
    if (!sawDigit) {
      error(DiagId::err_bad_literal, loc(node), {"integer", spelling});
      return 0;
    }
    return value;
  }

  double parseFloat(antlr4::tree::TerminalNode *node) {
    std::string spelling = textOf(node);
    std::string digits;
    for (char c : spelling)
      if (c != '_')
        digits += c;
    errno = 0;
    char *end = nullptr;
    double value = std::strtod(digits.c_str(), &end);
    if (end != digits.c_str() + digits.size() || std::isinf(value)) {
      error(DiagId::err_bad_literal, loc(node), {"float", spelling});
      return 0;
    }
    return value;
  }

  /// Decodes `"..."` up to its closing quote (or the end of an unterminated
  /// string, already reported by the lexer pass).
  std::string decodeString(antlr4::tree::TerminalNode *node) {
    std::string spelling = textOf(node);
    std::string out;
    for (size_t i = 1; i < spelling.size(); ++i) {
      char c = spelling[i];
      if (c == '"')
        break;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (++i >= spelling.size())
        break;
      switch (spelling[i]) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case '0': out += '\0'; break;
      case '\\': out += '\\'; break;
      case '"': out += '"'; break;
      case '\'': out += '\''; break;
      default: error(DiagId::err_bad_escape, loc(node), {std::string(1, spelling[i])}); break;
      }
    }
    return out;
  }

  std::string_view source;
  uint32_t fileId;
  ASTContext &context;
  DiagEngine &diags;
  unsigned depth = 0;
  bool reportedDepth = false;
};

} // namespace

bool buildAST(DlParser::SourceFileContext *tree, std::string_view text, uint32_t fileId,
              ASTContext &context, DiagEngine &diags, SourceFile &out, bool cleanItemsOnly) {
  if (tree == nullptr)
    return false;
  Builder builder(text, fileId, context, diags);
  builder.buildFile(tree, out, cleanItemsOnly);
  return builder.ok;
}

} // namespace dlc
