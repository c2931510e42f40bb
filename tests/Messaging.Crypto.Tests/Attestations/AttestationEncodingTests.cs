using System.Buffers.Binary;
using System.Text;
using Messaging.Crypto.Attestations;
using static Messaging.Crypto.Tests.Attestations.AttestationFixtures;

namespace Messaging.Crypto.Tests.Attestations;

public sealed class AttestationEncodingTests
{
    private const byte StringTag = 0x01;
    private const byte Int64Tag = 0x02;
    private const byte BytesTag = 0x03;
    private const byte TimestampTag = 0x04;
    private const byte BooleanTag = 0x05;

    [Fact]
    public void Encode_KnownAnswerRecord_GivesTheExpectedBytes()
    {
        var attestation = KnownAnswerAttestation();

        Assert.Equal(KnownAnswerEncodingHex, Convert.ToHexStringLower(attestation.Encode()));
    }

    [Fact]
    public void Encode_IsIndependentOfInsertionOrder()
    {
        var fields = KnownAnswerFields();
        var random = new Random(20240117);

        for (var i = 0; i < 200; i++)
        {
            random.Shuffle(fields);
            var encoded = Attestation.Create("attendance-notice", fields).Encode();
            Assert.Equal(KnownAnswerEncodingHex, Convert.ToHexStringLower(encoded));
        }
    }

    [Fact]
    public void Create_KeepsFieldsInOrdinalOrderOfTheirNames()
    {
        var attestation = Attestation.Create("t",
        [
            new("b", AttestationValue.FromInt64(1)),
            new("B", AttestationValue.FromInt64(2)),
            new("a-1", AttestationValue.FromInt64(3)),
            new("a", AttestationValue.FromInt64(4)),
            new("_", AttestationValue.FromInt64(5)),
        ]);

        Assert.Equal(["B", "_", "a", "a-1", "b"], attestation.Fields.Select(f => f.Key));
    }

    [Fact]
    public void Decode_OfEncode_RoundTripsEveryValueKind()
    {
        var instant = new DateTimeOffset(2024, 1, 17, 9, 30, 15, 123, TimeSpan.FromHours(2));
        var original = Attestation.Create("interview-invitation",
        [
            new("text", AttestationValue.FromString("Entretien à 9 h 30 — salle 2 😀")),
            new("min", AttestationValue.FromInt64(long.MinValue)),
            new("max", AttestationValue.FromInt64(long.MaxValue)),
            new("empty-bytes", AttestationValue.FromBytes([])),
            new("empty-text", AttestationValue.FromString(string.Empty)),
            new("when", AttestationValue.FromTimestamp(instant)),
            new("before-1970", AttestationValue.FromUnixMilliseconds(-1)),
            new("no", AttestationValue.FromBoolean(false)),
        ]);

        var decoded = Attestation.Decode(original.Encode());

        Assert.Equal(original, decoded);
        Assert.Equal(original.Encode(), decoded.Encode());
        Assert.Equal("interview-invitation", decoded.TypeName);
        Assert.Equal("Entretien à 9 h 30 — salle 2 😀", decoded["text"].AsString());
        Assert.Equal(long.MinValue, decoded["min"].AsInt64());
        Assert.Equal(long.MaxValue, decoded["max"].AsInt64());
        Assert.Empty(decoded["empty-bytes"].AsBytes());
        Assert.Equal(string.Empty, decoded["empty-text"].AsString());
        Assert.Equal(instant, decoded["when"].AsTimestamp());
        Assert.Equal(TimeSpan.Zero, decoded["when"].AsTimestamp().Offset);
        Assert.Equal(-1, decoded["before-1970"].AsUnixMilliseconds());
        Assert.False(decoded["no"].AsBoolean());
        Assert.False(decoded.TryGetValue("missing", out _));
        Assert.Throws<KeyNotFoundException>(() => decoded["missing"]);
    }

    [Fact]
    public void Decode_OfEncode_RoundTripsRandomRecords()
    {
        var random = new Random(7);
        for (var i = 0; i < 300; i++)
        {
            var fields = Enumerable.Range(0, random.Next(0, 8))
                .Select(n => new KeyValuePair<string, AttestationValue>($"f{n}", RandomValue(random)))
                .ToArray();
            var original = Attestation.Create("random", fields);

            var encoded = original.Encode();
            var decoded = Attestation.Decode(encoded);

            Assert.Equal(original, decoded);
            Assert.Equal(encoded, decoded.Encode());
            Assert.Equal(original.Fields, decoded.Fields);
        }
    }

    [Fact]
    public void FromString_KeepsTheExactText_WithoutNormalising()
    {
        Assert.Equal("e\u0301", AttestationValue.FromString("e\u0301").AsString());
        Assert.Equal("Maison de justice de Li\u00e8ge", AttestationValue.FromString("Maison de justice de Li\u00e8ge").AsString());
        Assert.NotEqual(AttestationValue.FromString("\u00e9"), AttestationValue.FromString("e\u0301"));
    }

    [Fact]
    public void FromString_WithControlCharactersOrLoneSurrogates_IsRefused()
    {
        foreach (var text in new[] { "a\tb", "line\n", "\0", "\u007f", "\u0085", "\u009f", "x\ud800", "\udc00x" })
        {
            Assert.Throws<ArgumentException>(() => AttestationValue.FromString(text));
        }
    }

    [Fact]
    public void Create_WithInvalidOrDuplicateNames_IsRefused()
    {
        var value = AttestationValue.FromBoolean(true);

        Assert.Throws<ArgumentException>(() => Attestation.Create(string.Empty, []));
        Assert.Throws<ArgumentException>(() => Attestation.Create("has space", []));
        Assert.Throws<ArgumentException>(() => Attestation.Create("colon:type", []));
        Assert.Throws<ArgumentException>(() => Attestation.Create("é", []));
        Assert.Throws<ArgumentException>(() => Attestation.Create(new string('a', Attestation.MaxNameLength + 1), []));
        Assert.Throws<ArgumentException>(() => Attestation.Create("t", [new(string.Empty, value)]));
        Assert.Throws<ArgumentException>(() => Attestation.Create("t", [new("a/b", value)]));
        Assert.Throws<ArgumentException>(() => Attestation.Create("t", [new("a", value), new("a", AttestationValue.FromBoolean(false))]));
        Assert.NotNull(Attestation.Create(new string('a', Attestation.MaxNameLength), [new("A.b_c-9", value)]));
    }

    [Fact]
    public void Create_BeyondTheMaximumEncodedLength_IsRefused()
    {
        var big = AttestationValue.FromBytes(new byte[Attestation.MaxEncodedLength]);

        Assert.Throws<ArgumentException>(() => Attestation.Create("t", [new("big", big)]));
    }

    [Fact]
    public void Accessors_OfAnotherKind_Throw()
    {
        var value = AttestationValue.FromInt64(5);

        Assert.Throws<InvalidOperationException>(() => value.AsString());
        Assert.Throws<InvalidOperationException>(() => value.AsBoolean());
        Assert.Throws<InvalidOperationException>(() => value.AsBytes());
        Assert.Throws<InvalidOperationException>(() => value.AsTimestamp());
        Assert.Equal(5, value.AsInt64());
        Assert.NotEqual(value, AttestationValue.FromUnixMilliseconds(5));
    }

    [Fact]
    public void ToString_ShowsNamesButNeverValues()
    {
        var attestation = Attestation.Create("attendance-notice", [new("person", AttestationValue.FromString("Jeanne Dupont"))]);

        Assert.Equal("attendance-notice(person)", attestation.ToString());
        Assert.DoesNotContain("Jeanne", attestation["person"].ToString(), StringComparison.Ordinal);
    }

    public static TheoryData<string, byte[]> NonCanonicalEncodings()
    {
        byte[] eight = [0, 0, 0, 0, 0, 0, 0, 1];
        return new TheoryData<string, byte[]>
        {
            { "empty input", [] },
            { "unknown version", new RawEncoding().Version(0x02).Name("t").U16(0).ToArray() },
            { "version zero", new RawEncoding().Version(0x00).Name("t").U16(0).ToArray() },
            { "truncated before field count", new RawEncoding().Version().Name("t").ToArray() },
            { "type name length beyond the end", new RawEncoding().Version().U16(10).Raw(0x74).ToArray() },
            { "empty type name", new RawEncoding().Version().Name(string.Empty).U16(0).ToArray() },
            { "invalid type name character", new RawEncoding().Version().Name("a b").U16(0).ToArray() },
            { "non-ASCII type name", new RawEncoding().Version().Name("\u00e9").U16(0).ToArray() },
            { "trailing byte", new RawEncoding().Version().Name("t").U16(0).Raw(0x00).ToArray() },
            { "field count too high", new RawEncoding().Version().Name("t").U16(2).Field("a", BooleanTag, [1]).ToArray() },
            { "field count too low", new RawEncoding().Version().Name("t").U16(1).Field("a", BooleanTag, [1]).Field("b", BooleanTag, [1]).ToArray() },
            { "unsorted fields", new RawEncoding().Version().Name("t").U16(2).Field("b", BooleanTag, [1]).Field("a", BooleanTag, [1]).ToArray() },
            { "duplicate fields", new RawEncoding().Version().Name("t").U16(2).Field("a", BooleanTag, [1]).Field("a", BooleanTag, [0]).ToArray() },
            { "prefix sorted after longer name", new RawEncoding().Version().Name("t").U16(2).Field("ab", BooleanTag, [1]).Field("a", BooleanTag, [1]).ToArray() },
            { "empty field name", new RawEncoding().Version().Name("t").U16(1).Field(string.Empty, BooleanTag, [1]).ToArray() },
            { "unknown tag 0x00", new RawEncoding().Version().Name("t").U16(1).Field("a", 0x00, [1]).ToArray() },
            { "unknown tag 0x06", new RawEncoding().Version().Name("t").U16(1).Field("a", 0x06, [1]).ToArray() },
            { "value length beyond the end", new RawEncoding().Version().Name("t").U16(1).Field("a", BytesTag, [1, 2], 3).ToArray() },
            { "huge value length", new RawEncoding().Version().Name("t").U16(1).Field("a", BytesTag, [1, 2], uint.MaxValue).ToArray() },
            { "int64 of 7 bytes", new RawEncoding().Version().Name("t").U16(1).Field("a", Int64Tag, eight[..7]).ToArray() },
            { "int64 of 9 bytes", new RawEncoding().Version().Name("t").U16(1).Field("a", Int64Tag, [.. eight, 0]).ToArray() },
            { "timestamp of 4 bytes", new RawEncoding().Version().Name("t").U16(1).Field("a", TimestampTag, eight[..4]).ToArray() },
            { "timestamp after year 9999", new RawEncoding().Version().Name("t").U16(1).Field("a", TimestampTag, BigEndian(253_402_300_800_000)).ToArray() },
            { "timestamp before year 1", new RawEncoding().Version().Name("t").U16(1).Field("a", TimestampTag, BigEndian(-62_135_596_800_001)).ToArray() },
            { "boolean 0x02", new RawEncoding().Version().Name("t").U16(1).Field("a", BooleanTag, [2]).ToArray() },
            { "boolean of 2 bytes", new RawEncoding().Version().Name("t").U16(1).Field("a", BooleanTag, [0, 1]).ToArray() },
            { "empty boolean", new RawEncoding().Version().Name("t").U16(1).Field("a", BooleanTag, []).ToArray() },
            { "invalid UTF-8", new RawEncoding().Version().Name("t").U16(1).Field("a", StringTag, [0xc3, 0x28]).ToArray() },
            { "overlong UTF-8", new RawEncoding().Version().Name("t").U16(1).Field("a", StringTag, [0xc0, 0xaf]).ToArray() },
            { "UTF-8 encoded surrogate", new RawEncoding().Version().Name("t").U16(1).Field("a", StringTag, [0xed, 0xa0, 0x80]).ToArray() },
            { "truncated UTF-8", new RawEncoding().Version().Name("t").U16(1).Field("a", StringTag, [0xe2, 0x82]).ToArray() },
            { "control character", new RawEncoding().Version().Name("t").U16(1).Field("a", StringTag, Encoding.UTF8.GetBytes("a\nb")).ToArray() },
            { "byte-order mark prefix", [0xef, 0xbb, 0xbf, .. new RawEncoding().Version().Name("t").U16(0).ToArray()] },
        };
    }

    [Theory]
    [MemberData(nameof(NonCanonicalEncodings))]
    public void Decode_NonCanonicalEncoding_IsRefused(string description, byte[] encoded)
    {
        var error = Record.Exception(() => Attestation.Decode(encoded));

        Assert.True(error is MalformedAttestationException, $"{description}: {error?.GetType().Name ?? "accepted"}");
    }

    [Fact]
    public void Decode_TheRawEncoderOnCanonicalInput_IsAccepted()
    {
        // Guards the non-canonical cases above: the raw encoder itself produces valid encodings.
        var encoded = new RawEncoding().Version().Name("t").U16(2)
            .Field("a", BooleanTag, [1])
            .Field("b", StringTag, Encoding.UTF8.GetBytes("\u00e9"))
            .ToArray();

        var decoded = Attestation.Decode(encoded);

        Assert.Equal(encoded, decoded.Encode());
    }

    [Fact]
    public void Decode_AnInputLargerThanTheMaximum_IsRefusedBeforeParsing()
    {
        var huge = new byte[Attestation.MaxEncodedLength + 1];
        huge[0] = Attestation.FormatVersion;

        Assert.Throws<MalformedAttestationException>(() => Attestation.Decode(huge));
    }

    private static byte[] BigEndian(long value)
    {
        var buffer = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(buffer, value);
        return buffer;
    }

    private static AttestationValue RandomValue(Random random)
    {
        switch (random.Next(5))
        {
            case 0:
                var length = random.Next(0, 12);
                var chars = Enumerable.Range(0, length).Select(_ => "aé e\u0301Ω漢😀-"[random.Next(10)]).ToArray();
                var text = new string(chars);
                // Never split the emoji's surrogate pair: replace any lone half.
                text = string.Concat(text.EnumerateRunes().Select(r => r.ToString()));
                return AttestationValue.FromString(text.Replace("\ufffd", "?", StringComparison.Ordinal));
            case 1:
                return AttestationValue.FromInt64(random.NextInt64(long.MinValue, long.MaxValue));
            case 2:
                var bytes = new byte[random.Next(0, 40)];
                random.NextBytes(bytes);
                return AttestationValue.FromBytes(bytes);
            case 3:
                return AttestationValue.FromUnixMilliseconds(random.NextInt64(-62_135_596_800_000, 253_402_300_799_999));
            default:
                return AttestationValue.FromBoolean(random.Next(2) == 1);
        }
    }
}
