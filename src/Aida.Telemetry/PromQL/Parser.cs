using Aida.Telemetry.Query;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.PromQL;

/// <summary>Recursive-descent PromQL parser with Prometheus' precedence (promql/parser/generated_parser.y) and its type
/// checks, so that type errors are parse errors as in Prometheus.</summary>
internal sealed class Parser
{
    private readonly string _input;
    private readonly List<Token> _tokens;
    private int _next;

    private Parser(string input)
    {
        _input = input;
        _tokens = Lexer.Tokenize(input);
    }

    public static Expr Parse(string input)
    {
        var p = new Parser(input);
        if (p.Peek.Kind == TokenKind.Eof)
        {
            throw Lexer.Error(input, 0, "no expression found in input");
        }

        var e = p.ParseExpr(0);
        if (p.Peek.Kind != TokenKind.Eof)
        {
            throw p.Unexpected(p.Peek);
        }

        p.Check(e);
        return e;
    }

    /// <summary>A bare selector, as the series API's match[] takes.</summary>
    public static VectorSelector ParseSelector(string input)
    {
        var e = Parse(input);
        while (e is ParenExpr pe)
        {
            e = pe.Inner;
        }

        return e as VectorSelector ?? throw Lexer.Error(input, 0, "expected a vector selector");
    }

    private Token Peek => _tokens[_next];

    private Token PeekAt(int ahead) => _tokens[Math.Min(_next + ahead, _tokens.Count - 1)];

    private Token Take() => _tokens[_next++];

    private Token Expect(TokenKind kind, string context)
    {
        var t = Peek;
        if (t.Kind != kind)
        {
            throw Unexpected(t, context);
        }

        _next++;
        return t;
    }

    private QueryException Unexpected(Token t, string? context = null) =>
        Error(t.Pos, t.Kind == TokenKind.Eof
            ? "unexpected end of input" + (context is null ? "" : " in " + context)
            : $"unexpected {t.Describe()}" + (context is null ? "" : " in " + context));

    private QueryException Error(int pos, string message) => Lexer.Error(_input, pos, message);

    private static int Precedence(TokenKind k) => k switch
    {
        TokenKind.Or => 1,
        TokenKind.And or TokenKind.Unless => 2,
        TokenKind.Eql or TokenKind.Neq or TokenKind.Gtr or TokenKind.Lss or TokenKind.Gte or TokenKind.Lte => 3,
        TokenKind.Add or TokenKind.Sub => 4,
        TokenKind.Mul or TokenKind.Div or TokenKind.Mod or TokenKind.Atan2 => 5,
        TokenKind.Pow => 6,
        _ => -1,
    };

    private const int UnaryOperandPrecedence = 6;

    private Expr ParseExpr(int minPrec)
    {
        var left = ParseUnary();
        while (true)
        {
            var opTok = Peek;
            var prec = Precedence(opTok.Kind);
            if (prec < 0 || prec < minPrec)
            {
                return left;
            }

            Take();
            var matching = new VectorMatching();
            var returnBool = false;
            if (Peek.Kind == TokenKind.Bool)
            {
                Take();
                returnBool = true;
            }

            if (Peek.Kind is TokenKind.On or TokenKind.Ignoring)
            {
                matching.On = Take().Kind == TokenKind.On;
                matching.MatchingLabels.AddRange(ParseLabelList());
                if (Peek.Kind is TokenKind.GroupLeft or TokenKind.GroupRight)
                {
                    matching.Card = Take().Kind == TokenKind.GroupLeft ? Cardinality.ManyToOne : Cardinality.OneToMany;
                    if (Peek.Kind == TokenKind.LeftParen)
                    {
                        matching.Include.AddRange(ParseLabelList());
                    }
                }
            }
            else if (Peek.Kind is TokenKind.GroupLeft or TokenKind.GroupRight)
            {
                throw Unexpected(Peek, "binary expression");
            }

            // ^ is right-associative; every other operator is left-associative.
            var rhs = ParseExpr(opTok.Kind == TokenKind.Pow ? prec : prec + 1);
            left = new BinaryExpr(left.Pos, opTok.Pos, opTok.Kind, left, rhs, returnBool, matching);
        }
    }

    private Expr ParseUnary()
    {
        var t = Peek;
        if (t.Kind is TokenKind.Sub or TokenKind.Add)
        {
            Take();

            // Unary operators bind like * and /: tighter than + and -, looser than ^.
            var operand = ParseExpr(UnaryOperandPrecedence);
            if (operand is NumberLiteral n)
            {
                return new NumberLiteral(t.Pos, t.Kind == TokenKind.Sub ? -n.Value : n.Value);
            }

            if (operand.Type is not (PromType.Scalar or PromType.Vector))
            {
                throw Error(t.Pos, "unary expression only allowed on expressions of type scalar or instant vector, got " + $"\"{Expr.Describe(operand.Type)}\"");
            }

            return t.Kind == TokenKind.Sub ? new NegateExpr(t.Pos, operand) : operand;
        }

        return ParsePostfix(ParsePrimary());
    }

    private Expr ParsePostfix(Expr e)
    {
        while (true)
        {
            var t = Peek;
            if (t.Kind == TokenKind.LeftBracket)
            {
                Take();
                var rangeTok = Expect(TokenKind.Duration, "range or subquery");
                var range = Lexer.ParseDuration(rangeTok.Text, rangeTok.Pos, _input);
                if (Peek.Kind == TokenKind.Colon)
                {
                    Take();
                    long step = 0;
                    if (Peek.Kind == TokenKind.Duration)
                    {
                        var stepTok = Take();
                        step = Lexer.ParseDuration(stepTok.Text, stepTok.Pos, _input);
                        if (step == 0)
                        {
                            throw Error(stepTok.Pos, "zero step in subquery");
                        }
                    }

                    Expect(TokenKind.RightBracket, "subquery selector");
                    if (e.Type != PromType.Vector)
                    {
                        throw Error(e.Pos, $"subquery is only allowed on instant vector, got {Expr.Describe(e.Type)} instead");
                    }

                    e = new SubqueryExpr(e.Pos, e, range, step);
                }
                else
                {
                    Expect(TokenKind.RightBracket, "range selector");
                    if (e is not VectorSelector vs)
                    {
                        throw Error(e.Pos, "ranges only allowed for vector selectors");
                    }

                    if (vs.OffsetSet)
                    {
                        throw Error(e.Pos, "no offset modifiers allowed before range");
                    }

                    if (range == 0)
                    {
                        throw Error(rangeTok.Pos, "range must be greater than 0");
                    }

                    e = new MatrixSelector(e.Pos, vs, range);
                }

                continue;
            }

            if (t.Kind == TokenKind.Offset)
            {
                Take();
                var sign = 1L;
                if (Peek.Kind is TokenKind.Sub or TokenKind.Add)
                {
                    sign = Take().Kind == TokenKind.Sub ? -1 : 1;
                }

                var d = Expect(TokenKind.Duration, "offset");
                var offset = sign * Lexer.ParseDuration(d.Text, d.Pos, _input);
                switch (e)
                {
                    case VectorSelector vs when !vs.OffsetSet:
                        vs.OffsetMs = offset;
                        vs.OffsetSet = true;
                        break;
                    case MatrixSelector ms when !ms.Selector.OffsetSet:
                        ms.Selector.OffsetMs = offset;
                        ms.Selector.OffsetSet = true;
                        break;
                    case SubqueryExpr sq when !sq.OffsetSet:
                        sq.OffsetMs = offset;
                        sq.OffsetSet = true;
                        break;
                    case VectorSelector or MatrixSelector or SubqueryExpr:
                        throw Error(t.Pos, "offset may not be set multiple times");
                    default:
                        throw Error(t.Pos, "offset modifier must be preceded by an instant vector selector or range vector selector or a subquery");
                }

                continue;
            }

            if (t.Kind == TokenKind.At)
            {
                Take();
                var at = ParseAt();
                switch (e)
                {
                    case VectorSelector vs when !vs.At.IsSet:
                        vs.At = at;
                        break;
                    case MatrixSelector ms when !ms.Selector.At.IsSet:
                        ms.Selector.At = at;
                        break;
                    case SubqueryExpr sq when !sq.At.IsSet:
                        sq.At = at;
                        break;
                    case VectorSelector or MatrixSelector or SubqueryExpr:
                        throw Error(t.Pos, "@ <timestamp> may not be set multiple times");
                    default:
                        throw Error(t.Pos, "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery");
                }

                continue;
            }

            return e;
        }
    }

    private AtModifier ParseAt()
    {
        var t = Peek;
        if (t.Kind == TokenKind.Identifier && t.Text is "start" or "end" && PeekAt(1).Kind == TokenKind.LeftParen && PeekAt(2).Kind == TokenKind.RightParen)
        {
            _next += 3;
            return new AtModifier(null, t.Text == "start", t.Text == "end");
        }

        var sign = 1.0;
        if (Peek.Kind is TokenKind.Sub or TokenKind.Add)
        {
            sign = Take().Kind == TokenKind.Sub ? -1 : 1;
        }

        var n = Expect(TokenKind.Number, "@ modifier");
        var seconds = sign * Lexer.ParseNumber(n.Text);
        var ms = Math.Round(seconds * 1000);
        if (double.IsNaN(ms) || double.IsInfinity(ms) || ms >= 9.2233720368547758e18 || ms <= -9.2233720368547758e18)
        {
            throw Error(n.Pos, "timestamp out of bounds for @ modifier: " + GoFloat.FormatF(seconds));
        }

        return new AtModifier((long)ms, false, false);
    }

    private Expr ParsePrimary()
    {
        var t = Peek;
        switch (t.Kind)
        {
            case TokenKind.Number:
                Take();
                return new NumberLiteral(t.Pos, Lexer.ParseNumber(t.Text));
            case TokenKind.String:
                Take();
                return new StringLiteral(t.Pos, t.Text);
            case TokenKind.LeftParen:
            {
                Take();
                var inner = ParseExpr(0);
                Expect(TokenKind.RightParen, "paren expression");
                return new ParenExpr(t.Pos, inner);
            }

            case TokenKind.LeftBrace:
                return ParseSelector(null, t.Pos);
            case TokenKind.Identifier when PeekAt(1).Kind == TokenKind.LeftParen:
                return ParseCall();
            case TokenKind.Identifier or TokenKind.MetricIdentifier:
                Take();
                return ParseSelector(t.Text, t.Pos);
            default:
                if (t.IsAggregator)
                {
                    return ParseAggregate();
                }

                throw Unexpected(t);
        }
    }

    private VectorSelector ParseSelector(string? name, int pos)
    {
        var matchers = new List<LabelMatcher>();
        if (Peek.Kind == TokenKind.LeftBrace)
        {
            Take();
            while (Peek.Kind != TokenKind.RightBrace)
            {
                var lt = Peek;
                if (lt.Kind != TokenKind.Identifier)
                {
                    throw Unexpected(lt, "label matching");
                }

                Take();
                var opTok = Take();
                var type = opTok.Kind switch
                {
                    TokenKind.Assign => MatcherType.Equal,
                    TokenKind.Neq => MatcherType.NotEqual,
                    TokenKind.RegexMatch => MatcherType.Regex,
                    TokenKind.RegexNoMatch => MatcherType.NotRegex,
                    _ => throw Unexpected(opTok, "label matching, expected one of \"=\", \"!=\", \"=~\" or \"!~\""),
                };
                var valueTok = Take();
                if (valueTok.Kind != TokenKind.String)
                {
                    throw Unexpected(valueTok, "label matching, expected string");
                }

                try
                {
                    matchers.Add(new LabelMatcher(lt.Text, type, valueTok.Text));
                }
                catch (ArgumentException ex)
                {
                    throw Error(valueTok.Pos, $"invalid regular expression \"{valueTok.Text}\": {ex.Message}");
                }

                if (Peek.Kind == TokenKind.Comma)
                {
                    Take();
                }
                else if (Peek.Kind != TokenKind.RightBrace)
                {
                    throw Unexpected(Peek, "label matching, expected \",\" or \"}\"");
                }
            }

            Take();
        }

        if (name is not null)
        {
            foreach (var m in matchers)
            {
                if (m.Name == Labels.MetricNameLabel)
                {
                    throw Error(pos, $"metric name must not be set twice: \"{name}\" or \"{m.Value}\"");
                }
            }

            matchers.Add(LabelMatcher.MetricName(name));
        }

        if (!matchers.Exists(m => !m.Matches("")))
        {
            throw Error(pos, "vector selector must contain at least one non-empty matcher");
        }

        return new VectorSelector(pos, name, matchers);
    }

    private List<string> ParseLabelList()
    {
        Expect(TokenKind.LeftParen, "grouping opts");
        var names = new List<string>();
        while (Peek.Kind != TokenKind.RightParen)
        {
            var t = Take();
            if (!(t.Kind == TokenKind.Identifier || t.IsKeyword) || !LabelRules.IsValidLabelName(t.Text))
            {
                throw Unexpected(t, "grouping opts");
            }

            names.Add(t.Text);
            if (Peek.Kind == TokenKind.Comma)
            {
                Take();
            }
            else if (Peek.Kind != TokenKind.RightParen)
            {
                throw Unexpected(Peek, "grouping opts, expected \",\" or \")\"");
            }
        }

        Take();
        return names;
    }

    private List<Expr> ParseArgs(string context)
    {
        Expect(TokenKind.LeftParen, context);
        var args = new List<Expr>();
        while (Peek.Kind != TokenKind.RightParen)
        {
            args.Add(ParseExpr(0));
            if (Peek.Kind == TokenKind.Comma)
            {
                Take();
            }
            else if (Peek.Kind != TokenKind.RightParen)
            {
                throw Unexpected(Peek, context + ", expected \",\" or \")\"");
            }
        }

        Take();
        return args;
    }

    private CallExpr ParseCall()
    {
        var nameTok = Take();
        if (!Functions.TryGet(nameTok.Text, out var def))
        {
            throw Error(nameTok.Pos, $"unknown function with name \"{nameTok.Text}\"");
        }

        var args = ParseArgs("function call");
        return new CallExpr(nameTok.Pos, def, args);
    }

    private AggregateExpr ParseAggregate()
    {
        var opTok = Take();
        List<string>? grouping = null;
        var without = false;
        if (Peek.Kind is TokenKind.By or TokenKind.Without)
        {
            without = Take().Kind == TokenKind.Without;
            grouping = ParseLabelList();
        }

        var argsPos = Peek.Pos;
        var args = ParseArgs("aggregation");
        if (Peek.Kind is TokenKind.By or TokenKind.Without)
        {
            if (grouping is not null)
            {
                throw Unexpected(Peek, "aggregation");
            }

            without = Take().Kind == TokenKind.Without;
            grouping = ParseLabelList();
        }

        var needsParam = opTok.Kind is TokenKind.Topk or TokenKind.Bottomk or TokenKind.Quantile or TokenKind.CountValues;
        var expected = needsParam ? 2 : 1;
        if (args.Count != expected)
        {
            throw Error(argsPos, $"wrong number of arguments for aggregate expression provided, expected {expected}, got {args.Count}");
        }

        return new AggregateExpr(opTok.Pos, opTok.Kind, args[^1], needsParam ? args[0] : null, grouping ?? [], without);
    }

    private void ExpectType(Expr e, PromType want, string context)
    {
        if (e.Type != want)
        {
            throw Error(e.Pos, $"expected type {Expr.Describe(want)} in {context}, got {Expr.Describe(e.Type)}");
        }
    }

    /// <summary>Prometheus' checkAST: the static type rules.</summary>
    private void Check(Expr e)
    {
        switch (e)
        {
            case ParenExpr p:
                Check(p.Inner);
                break;
            case NegateExpr n:
                Check(n.Inner);
                break;
            case MatrixSelector:
            case VectorSelector:
            case NumberLiteral:
            case StringLiteral:
                break;
            case SubqueryExpr s:
                Check(s.Inner);
                break;
            case CallExpr c:
                CheckCall(c);
                break;
            case AggregateExpr a:
                Check(a.Inner);
                ExpectType(a.Inner, PromType.Vector, "aggregation expression");
                if (a.Param is not null)
                {
                    Check(a.Param);
                    ExpectType(a.Param, a.Op == TokenKind.CountValues ? PromType.String : PromType.Scalar, "aggregation parameter");
                }

                break;
            case BinaryExpr b:
                CheckBinary(b);
                break;
            default:
                throw Error(e.Pos, "unknown expression");
        }
    }

    private void CheckCall(CallExpr c)
    {
        var f = c.Func;
        var nargs = f.ArgTypes.Count;
        if (f.Variadic == 0)
        {
            if (nargs != c.Args.Count)
            {
                throw Error(c.Pos, $"expected {nargs} argument(s) in call to \"{f.Name}\", got {c.Args.Count}");
            }
        }
        else
        {
            var na = nargs - 1;
            if (na > c.Args.Count)
            {
                throw Error(c.Pos, $"expected at least {na} argument(s) in call to \"{f.Name}\", got {c.Args.Count}");
            }

            if (f.Variadic > 0 && na + f.Variadic < c.Args.Count)
            {
                throw Error(c.Pos, $"expected at most {na + f.Variadic} argument(s) in call to \"{f.Name}\", got {c.Args.Count}");
            }
        }

        for (var i = 0; i < c.Args.Count; i++)
        {
            Check(c.Args[i]);
            ExpectType(c.Args[i], f.ArgTypes[Math.Min(i, nargs - 1)], $"call to function \"{f.Name}\"");
        }
    }

    private void CheckBinary(BinaryExpr b)
    {
        Check(b.Lhs);
        Check(b.Rhs);
        var lt = b.Lhs.Type;
        var rt = b.Rhs.Type;
        var m = b.Matching;
        var isComparison = BinaryExpr.IsComparison(b.Op);
        var isSet = BinaryExpr.IsSetOperator(b.Op);
        if (b.ReturnBool && !isComparison)
        {
            throw Error(b.OpPos, "bool modifier can only be used on comparison operators");
        }

        if (isComparison && !b.ReturnBool && lt == PromType.Scalar && rt == PromType.Scalar)
        {
            throw Error(b.OpPos, "comparisons between scalars must use BOOL modifier");
        }

        if (isSet && m.Card == Cardinality.OneToOne)
        {
            m.Card = Cardinality.ManyToMany;
        }

        if (m.On)
        {
            foreach (var l in m.MatchingLabels)
            {
                if (m.Include.Contains(l))
                {
                    throw Error(b.OpPos, $"label \"{l}\" must not occur in ON and GROUP clause at once");
                }
            }
        }

        if (lt is not (PromType.Scalar or PromType.Vector))
        {
            throw Error(b.Lhs.Pos, "binary expression must contain only scalar and instant vector types");
        }

        if (rt is not (PromType.Scalar or PromType.Vector))
        {
            throw Error(b.Rhs.Pos, "binary expression must contain only scalar and instant vector types");
        }

        if (lt != PromType.Vector || rt != PromType.Vector)
        {
            if (m.MatchingLabels.Count > 0)
            {
                throw Error(b.Pos, "vector matching only allowed between instant vectors");
            }
        }
        else if (isSet && m.Card is Cardinality.OneToMany or Cardinality.ManyToOne)
        {
            throw Error(b.Pos, $"no grouping allowed for \"{OpText(b.Op)}\" operation");
        }

        if ((lt == PromType.Scalar || rt == PromType.Scalar) && isSet)
        {
            throw Error(b.Pos, $"set operator \"{OpText(b.Op)}\" not allowed in binary scalar expression");
        }
    }

    private static string OpText(TokenKind k) => k switch
    {
        TokenKind.And => "and",
        TokenKind.Or => "or",
        _ => "unless",
    };
}
