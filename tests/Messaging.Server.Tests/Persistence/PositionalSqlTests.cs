using Messaging.Server.Persistence;
using Npgsql;

namespace Messaging.Server.Tests.Persistence;

/// <summary>The translation of named parameters into positions for PostgreSQL (<see cref="PositionalSql"/>).</summary>
public sealed class PositionalSqlTests
{
    [Fact]
    public void Names_BecomePositions_InTheOrderOfTheirFirstUse_AndARepeatedNameKeepsItsPosition()
    {
        var translated = PositionalSql.Translate("""
            DELETE FROM envelopes WHERE seq = @seq
              AND NOT EXISTS (SELECT 1 FROM envelope_recipients r WHERE r.envelope_seq = @seq AND r.recipient_device_id = @device_2);
            """);

        Assert.NotNull(translated);
        Assert.Equal("""
            DELETE FROM envelopes WHERE seq = $1
              AND NOT EXISTS (SELECT 1 FROM envelope_recipients r WHERE r.envelope_seq = $1 AND r.recipient_device_id = $2);
            """, translated.Sql);
        Assert.Equal(["@seq", "@device_2"], translated.Names);
    }

    [Fact]
    public void Literals_QuotedIdentifiers_CommentsAndCasts_AreCopiedAsTheyAre()
    {
        var translated = PositionalSql.Translate(
            "SELECT 'a@b.be', 'it''s @not', \"col@x\" -- @comment\n, /* @block */ @value::text[] FROM t WHERE x @> @set;");

        Assert.NotNull(translated);
        Assert.Equal("SELECT 'a@b.be', 'it''s @not', \"col@x\" -- @comment\n, /* @block */ $1::text[] FROM t WHERE x @> $2;", translated.Sql);
        Assert.Equal(["@value", "@set"], translated.Names);
    }

    [Theory]
    [InlineData("DELETE FROM a WHERE id = @id; DELETE FROM b WHERE id = @id;")]
    [InlineData("SELECT $1;")]
    [InlineData("DO $$ BEGIN PERFORM 1; END $$;")]
    [InlineData("SELECT 'unterminated @id")]
    [InlineData("SELECT 1 /* unterminated @id")]
    [InlineData("SELECT 1 /* nested /* comment */ */ FROM t WHERE id = @id")]
    public void TextNotReadWithCertainty_IsLeftToNpgsql(string sql) => Assert.Null(PositionalSql.Translate(sql));

    [Fact]
    public void Binding_TakesEachPositionsValueByName_WithoutCase_AndRefusesAMissingOne()
    {
        var translated = PositionalSql.Translate("SELECT @b, @a, @b;")!;
        var command = new NpgsqlCommand();

        translated.Bind(command.Parameters, NpgsqlFactory.Instance, [("@A", 1L), ("@b", "two"), ("@unused", 3L)]);

        Assert.Equal(["two", 1L], command.Parameters.Select(p => p.Value));
        Assert.All(command.Parameters, p => Assert.Equal("", p.ParameterName));
        Assert.Throws<InvalidOperationException>(() => translated.Bind(new NpgsqlCommand().Parameters, NpgsqlFactory.Instance, [("@a", 1L)]));
    }

    [Fact]
    public void OnlyConstantTexts_AreTranslatedAndKept()
    {
        const string Constant = "SELECT seq FROM envelopes WHERE seq = @seq;";
        var built = string.Concat("SELECT seq FROM envelopes ", "WHERE seq = @seq;");

        Assert.Same(PositionalSql.For(Constant), PositionalSql.For(Constant));
        Assert.Equal("SELECT seq FROM envelopes WHERE seq = $1;", PositionalSql.For(Constant)!.Sql);
        Assert.Null(PositionalSql.For(built));
    }
}
