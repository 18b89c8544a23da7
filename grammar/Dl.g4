// The DL grammar (LANGUAGE.md §1, §3, §4, §10): one combined lexer + parser.
// CMake generates a C++ lexer, parser and visitor from it; frontend/Parser.cpp
// drives them and frontend/ParseTreeBuilder.cpp turns the parse tree into the AST.
// Newlines are skipped; the few places where a line break matters (a `(`, `[`
// or `@` opening a line, a `return` at the end of a line) see retyped tokens.
grammar Dl;

// Token kinds that the lexer never produces itself: frontend/Parser.cpp retypes
// tokens where a line break or the tokens around them decide their meaning, so
// the parser needs no semantic predicates (and prediction stays cached and fast):
//   LPAREN_NL, LBRACK_NL  a `(` / `[` that opens a line: never a call or index
//   ATTR_AT               an `@name` that opens a line: an attribute, not `@` (matmul)
//   RETURN_VALUE          a `return` followed on its line by a value
//   GENERIC_LT/GENERIC_GT `<` ... `>` after a name that hold types and are
//                         followed by `(` or `.`: `Adam<MLP>(...)`, not `a < b`
tokens { LPAREN_NL, LBRACK_NL, ATTR_AT, RETURN_VALUE, GENERIC_LT, GENERIC_GT }

// ---------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------

sourceFile : (item | SEMI)* EOF ;

item
  : attribute* declaration   # declItem
  | statement                # stmtItem
  ;

declaration
  : importDecl
  | funcDecl
  | externDecl
  | structDecl
  | traitDecl
  ;

importDecl : IMPORT (IDENT | STRING) ;

attribute : (AT | ATTR_AT) IDENT (LPAREN (attrArg (COMMA attrArg)* COMMA?)? RPAREN)? ;
attrArg   : (anyName COLON)? attrValue ;
// An operator names the operator's derivative rule: `@vjp(of: *)`, as in
// Swift's `@derivative(of: +)`.
attrValue : anyName (DOT anyName)* | INT | FLOAT | STRING | PLUS | MINUS | STAR | SLASH ;

// The body is required here and optional only in traits: a body-less `fn f()`
// followed by a top-level `{ ... }` block statement would be ambiguous.
funcDecl        : funcSignature block ;
requirementDecl : funcSignature block? ;
funcSignature
  : funcModifier* FN IDENT genericParams? lparen paramList? RPAREN (ARROW type)?
  ;
funcModifier : MUTATING | STATIC ;

externDecl : EXTERN FN IDENT lparen paramList? RPAREN (ARROW type)? ;

initDecl : INIT lparen paramList? RPAREN block ;

structDecl
  : STRUCT IDENT genericParams? (COLON typeList)? LBRACE (structMember | SEMI)* RBRACE
  ;
structMember : attribute* (fieldDecl | funcDecl | initDecl) ;
fieldDecl    : (VAR | LET) IDENT COLON type (EQ expr)? ;

traitDecl
  : TRAIT IDENT (COLON typeList)? LBRACE (traitMember | SEMI)* RBRACE
  ;
traitMember : attribute* requirementDecl ;

genericParams : (LT | GENERIC_LT) genericParam (COMMA genericParam)* (GT | GENERIC_GT) ;
genericParam  : IDENT (COLON type (AMP type)*)? ;

paramList : param (COMMA param)* COMMA? ;
param
  : SELF                                              # selfParam
  | attribute* anyName? IDENT COLON INOUT? type       # namedParam
  ;

typeList : type (COMMA type)* ;

// --- Statements -------------------------------------------------------------

block : LBRACE (statement | SEMI)* RBRACE ;

statement
  : letStmt
  | ifStmt
  | whileStmt
  | forStmt
  | returnStmt
  | breakStmt
  | continueStmt
  | block
  | simpleStmt
  ;

letStmt      : (LET | VAR) pattern (COLON type)? (EQ expr)? ;
ifStmt       : IF expr block (ELSE (ifStmt | block))? ;
whileStmt    : WHILE expr block ;
forStmt      : FOR pattern IN expr block ;
returnStmt   : RETURN | RETURN_VALUE expr ;
breakStmt    : BREAK ;
continueStmt : CONTINUE ;
simpleStmt   : expr (assignOp expr)? ;
assignOp     : EQ | PLUSEQ | MINUSEQ | STAREQ | SLASHEQ ;

pattern
  : IDENT                                               # identPattern
  | lparen pattern (COMMA pattern)* COMMA? RPAREN       # tuplePattern
  ;

// --- Expressions (LANGUAGE.md §4 precedence, loosest first) ------------------

expr        : ternaryExpr ;
ternaryExpr : orExpr (QUESTION expr COLON ternaryExpr)? ;
orExpr      : andExpr (OROR andExpr)* ;
andExpr     : cmpExpr (ANDAND cmpExpr)* ;
cmpExpr     : rangeExpr ((EQEQ | NE | LT | LE | GT | GE) rangeExpr)* ;
rangeExpr   : addExpr ((HALFOPEN | CLOSED) addExpr)* ;
addExpr     : mulExpr ((PLUS | MINUS) mulExpr)* ;
mulExpr     : matExpr ((STAR | SLASH | PERCENT) matExpr)* ;
matExpr     : unaryExpr (AT unaryExpr)* ;
unaryExpr
  : (MINUS | BANG | AMP) unaryExpr
  | postfixExpr
  ;

postfixExpr : primary postfixOp* ;
postfixOp
  : LPAREN (arg (COMMA arg)* COMMA?)? RPAREN                  # callOp
  | LBRACK expr (COMMA expr)* COMMA? RBRACK                   # indexOp
  | DOT (IDENT | INT | FLOAT)                                 # memberOp
  ;
arg : (anyName COLON)? expr ;

primary
  : INT                                                        # intLit
  | FLOAT                                                      # floatLit
  | STRING                                                     # stringLit
  | (TRUE | FALSE)                                             # boolLit
  | SELF                                                       # selfExpr
  | (IDENT | SELF_TYPE) explicitGenericArgs?                   # nameExpr
  | lparen (expr (COMMA expr)*)? RPAREN                        # parenExpr
  | lbrack (expr (COMMA expr)* COMMA?)? RBRACK                 # arrayLit
  | lambdaHead (ARROW type block | block | expr)               # lambdaExpr
  ;

lambdaHead  : PIPE (lambdaParam (COMMA lambdaParam)*)? PIPE | OROR ;
lambdaParam : IDENT (COLON INOUT? type)? ;

// --- Types ----------------------------------------------------------------------

type
  : lparen (typeElem (COMMA typeElem)*)? RPAREN (ARROW type)?       # parenType
  | lbrack type RBRACK                                              # arrayType
  | typeComponent (DOT typeComponent)* shape?                       # namedType
  ;
typeElem      : INOUT? type ;
typeComponent : (IDENT | SELF_TYPE) genericArgs? ;
genericArgs   : (LT | GENERIC_LT) type (COMMA type)* (GT | GENERIC_GT) ;
explicitGenericArgs : GENERIC_LT type (COMMA type)* GENERIC_GT ;
shape         : LBRACK dim (COMMA dim)* RBRACK ;
dim           : INT | IDENT ;

lparen : LPAREN | LPAREN_NL ;
lbrack : LBRACK | LBRACK_NL ;

// A name where a keyword is also allowed: parameter and argument labels.
anyName
  : IDENT | FN | STRUCT | TRAIT | IMPORT | EXTERN | LET | VAR | IF | ELSE | WHILE
  | FOR | IN | RETURN | BREAK | CONTINUE | TRUE | FALSE | SELF | SELF_TYPE | INIT
  | MUTATING | INOUT | STATIC
  ;

// ---------------------------------------------------------------------------
// Lexer
// ---------------------------------------------------------------------------

FN       : 'fn' ;
STRUCT   : 'struct' ;
TRAIT    : 'trait' ;
IMPORT   : 'import' ;
EXTERN   : 'extern' ;
LET      : 'let' ;
VAR      : 'var' ;
IF       : 'if' ;
ELSE     : 'else' ;
WHILE    : 'while' ;
FOR      : 'for' ;
IN       : 'in' ;
RETURN   : 'return' ;
BREAK    : 'break' ;
CONTINUE : 'continue' ;
TRUE     : 'true' ;
FALSE    : 'false' ;
SELF     : 'self' ;
SELF_TYPE: 'Self' ;
INIT     : 'init' ;
MUTATING : 'mutating' ;
INOUT    : 'inout' ;
STATIC   : 'static' ;

ARROW    : '->' ;
HALFOPEN : '..<' ;
CLOSED   : '...' ;
EQEQ     : '==' ;
NE       : '!=' ;
LE       : '<=' ;
GE       : '>=' ;
ANDAND   : '&&' ;
OROR     : '||' ;
PLUSEQ   : '+=' ;
MINUSEQ  : '-=' ;
STAREQ   : '*=' ;
SLASHEQ  : '/=' ;
LT       : '<' ;
GT       : '>' ;
EQ       : '=' ;
PLUS     : '+' ;
MINUS    : '-' ;
STAR     : '*' ;
SLASH    : '/' ;
PERCENT  : '%' ;
BANG     : '!' ;
AMP      : '&' ;
PIPE     : '|' ;
AT       : '@' ;
QUESTION : '?' ;
COLON    : ':' ;
SEMI     : ';' ;
COMMA    : ',' ;
DOT      : '.' ;
LPAREN   : '(' ;
RPAREN   : ')' ;
LBRACE   : '{' ;
RBRACE   : '}' ;
LBRACK   : '[' ;
RBRACK   : ']' ;

FLOAT
  : DIGITS '.' DIGITS EXPONENT?
  | DIGITS EXPONENT
  ;
INT
  : '0x' [0-9a-fA-F_]+
  | DIGITS
  ;
IDENT  : [A-Za-z_] [A-Za-z0-9_]* ;
STRING : '"' (~["\\\r\n] | '\\' ~[\r\n])* '"' ;

fragment DIGITS   : [0-9] [0-9_]* ;
fragment EXPONENT : [eE] [+-]? [0-9] [0-9_]* ;

WS            : [ \t\r\n\f]+ -> skip ;
LINE_COMMENT  : '//' ~[\r\n]* -> skip ;
// Nested: every `/*` inside a comment opens another level.
BLOCK_COMMENT : '/*' (BLOCK_COMMENT | '/' ~'*' | ~'/')*? '*/' -> skip ;

// Error tokens: the parser never sees them. frontend/Parser.cpp reports each
// one and drops it (or, for an unterminated comment, ends the file there).
COMMENT_OPEN        : '/*' ;                                      // only when unterminated
UNTERMINATED_STRING : '"' (~["\\\r\n] | '\\' ~[\r\n])* '\\'? ;
ERRCHAR             : . ;
