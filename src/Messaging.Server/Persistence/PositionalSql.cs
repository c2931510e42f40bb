using System.Collections.Concurrent;
using System.Data.Common;
using System.Text;

namespace Messaging.Server.Persistence;

/// <summary>
/// A repository statement for PostgreSQL with positional parameters (<c>$1</c>, <c>$2</c> …) in place of its named ones
/// (<c>@name</c>), and the names in their positions. Npgsql sends a statement whose parameters have no names as it is;
/// with names, it parses and rewrites the text at every execution (a new copy of the text and a name lookup each time,
/// a tenth of what the server allocated per message under load). Each constant text is translated once and kept.
/// </summary>
internal sealed class PositionalSql
{
    private const int MaxKept = 1024;

    /// <summary>Translations of constant texts, found by the reference of the text (a constant is the same instance at
    /// every call); null for a text kept as it is.</summary>
    private static readonly ConcurrentDictionary<string, PositionalSql?> Kept = new(ReferenceEqualityComparer.Instance);

    private PositionalSql(string sql, string[] names)
    {
        Sql = sql;
        Names = names;
    }

    public string Sql { get; }

    /// <summary>The parameter names, <c>@</c> included, in the order of their positions.</summary>
    public string[] Names { get; }

    /// <summary>The translation of a constant text; null for a text built at run time (not kept: each would be used once)
    /// and for one that <see cref="Translate"/> leaves to Npgsql.</summary>
    public static PositionalSql? For(string sql)
    {
        if (Kept.TryGetValue(sql, out var known))
        {
            return known;
        }

        // A text built at run time misses at every call: it is told apart before the cache's count, which takes every
        // lock of the dictionary.
        if (!StatementCache.IsConstantText(sql) || Kept.Count >= MaxKept)
        {
            return null;
        }

        var translated = Translate(sql);
        Kept.TryAdd(sql, translated);
        return translated;
    }

    /// <summary>
    /// Replaces each <c>@name</c> outside string literals, quoted identifiers and comments by the position of its first
    /// occurrence. Returns null, leaving the text to Npgsql's own parser, when it is not one statement read with certainty
    /// here: several statements, an unterminated literal or comment, or a dollar sign anywhere (dollar quoting, or
    /// positions already).
    /// </summary>
    public static PositionalSql? Translate(string sql)
    {
        var names = new List<string>();
        var text = new StringBuilder(sql.Length);
        var i = 0;
        while (i < sql.Length)
        {
            var c = sql[i];
            var next = i + 1 < sql.Length ? sql[i + 1] : '\0';
            int end;
            switch (c)
            {
                case '\'' or '"':
                    // A doubled quote inside ends one piece and starts the next: copied the same.
                    end = sql.IndexOf(c, i + 1);
                    if (end < 0)
                    {
                        return null;
                    }

                    end++;
                    break;
                case '-' when next == '-':
                    end = sql.IndexOf('\n', i);
                    end = end < 0 ? sql.Length : end;
                    break;
                case '/' when next == '*':
                    end = sql.IndexOf("*/", i + 2, StringComparison.Ordinal);
                    if (end < 0 || sql.AsSpan(i + 2, end - i - 2).Contains("/*", StringComparison.Ordinal))
                    {
                        return null;
                    }

                    end += 2;
                    break;
                case '$':
                    return null;
                case ';' when !sql.AsSpan(i + 1).IsWhiteSpace():
                    return null;
                case '@' when char.IsAsciiLetter(next) || next == '_':
                    end = i + 1;
                    while (end < sql.Length && (char.IsAsciiLetterOrDigit(sql[end]) || sql[end] == '_'))
                    {
                        end++;
                    }

                    var name = sql[i..end];
                    var position = names.IndexOf(name);
                    if (position < 0)
                    {
                        names.Add(name);
                        position = names.Count - 1;
                    }

                    text.Append('$').Append(position + 1);
                    i = end;
                    continue;
                default:
                    end = i + 1;
                    break;
            }

            text.Append(sql, i, end - i);
            i = end;
        }

        return new PositionalSql(text.ToString(), [.. names]);
    }

    /// <summary>The value given for each position, from the call's named parameters (names compared without case, as
    /// Npgsql does). A name the statement uses and the call does not give is refused.</summary>
    public void Bind(DbParameterCollection to, DbProviderFactory factory, (string Name, object? Value)[] parameters)
    {
        foreach (var name in Names)
        {
            var parameter = factory.CreateParameter() ?? throw new InvalidOperationException("The provider makes no parameters.");
            parameter.Value = DbValues.ToDb(ValueOf(name, parameters));
            to.Add(parameter);
        }
    }

    private static object? ValueOf(string name, (string Name, object? Value)[] parameters)
    {
        foreach (var (given, value) in parameters)
        {
            if (string.Equals(given, name, StringComparison.OrdinalIgnoreCase))
            {
                return value;
            }
        }

        throw new InvalidOperationException($"The statement uses {name}, which the call does not give.");
    }
}
