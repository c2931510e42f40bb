using Messaging.Crypto.CrossSigning;

namespace Messaging.Crypto.Tests.CrossSigning;

/// <summary>Conversation membership statements and the rules of their log (docs/crypto.md section 12; the vectors are
/// recomputed independently by Vectors/recompute_cross_signing_vectors.py).</summary>
public sealed class MembershipLogTests
{
    private static readonly Guid Member = Guid.Parse("11111111-2222-4333-8444-555555555555");
    private static readonly Guid Remote = Guid.Parse("99999999-8888-4777-8666-555555555555");
    private static readonly Guid Third = Guid.Parse("77777777-6666-4555-8444-333333333333");
    private static readonly Guid Conversation = Guid.Parse("cccccccc-dddd-4eee-8fff-000000000001");

    private static byte[] Range(int from, int count) => [.. Enumerable.Range(from, count).Select(i => (byte)i)];

    private sealed class Keys : IDisposable
    {
        public MemberSigningKey Member { get; } = MemberSigningKey.FromSeed(MembershipLogTests.Member, Range(0xe0, 32));

        public MemberSigningKey Remote { get; } = MemberSigningKey.FromSeed(MembershipLogTests.Remote, Range(0x40, 32));

        public MemberSigningKey Third { get; } = MemberSigningKey.Generate(MembershipLogTests.Third);

        public IEnumerable<byte[]> Trusted(Guid member)
            => member == MembershipLogTests.Member ? [Member.PublicKey] : member == MembershipLogTests.Remote ? [Remote.PublicKey] : member == MembershipLogTests.Third ? [Third.PublicKey] : [];

        public void Dispose()
        {
            Member.Dispose();
            Remote.Dispose();
            Third.Dispose();
        }
    }

    private static MembershipLog Verify(Keys keys, params MembershipStatement[] statements)
        => MembershipLog.Verify(Conversation, [.. statements.Select(s => s.ToBytes())], keys.Trusted);

    [Fact]
    public void TheKnownAnswerVectors_MatchTheDocument()
    {
        using var keys = new Keys();
        var create = MembershipLog.SignCreate(keys.Member, Conversation, [Remote], collective: false);
        Assert.Equal("01ccccccccdddd4eee8fff000000000001000000000000000000000000000000000000000000000000000000000000000000000000000000001111111122224333844455555555555501111111112222433384445555555555550000021111111122224333844455555555555599999999888847778666555555555555bd83dfc248b931955713bc307c9a22aa516c8dc9e12dd570918a4b8565f9e90427df9d273cda0a9bf153638e3987f0d15a1e112f25a479643b35867ba757b800",
            Convert.ToHexStringLower(create.ToBytes()));
        Assert.Equal("830afcd03e397faafb5c1d4192719ee45b2ee39d73b673a3cb8aa707764e6a7a", Convert.ToHexStringLower(create.Hash()));
        var afterCreate = MembershipLog.Empty(Conversation).Append(create);
        var add = afterCreate.SignChange(keys.Remote, MembershipOperation.Add, Third);
        Assert.Equal("01ccccccccdddd4eee8fff0000000000010000000000000001830afcd03e397faafb5c1d4192719ee45b2ee39d73b673a3cb8aa707764e6a7a999999998888477786665555555555550200000000000000000000000000000000000001777777776666455584443333333333339c5f3a0aa654c9f47c1a405987f2261da1567497b4d56bec19be9eca2efc6f5e849c88aae5a294aaa80501bbcb3274e6b4fd80563259ddfddd90556e66e9c80e",
            Convert.ToHexStringLower(add.ToBytes()));

        var log = Verify(keys, create, add);
        Assert.Equal((2L, Member, false), (log.NextIndex, log.Creator, log.Collective));
        Assert.Equal(new HashSet<Guid> { Member, Remote, Third }, log.Members.ToHashSet());
        Assert.Equal(add.Hash(), log.Head.ToArray());
    }

    [Fact]
    public void AParsedStatement_RoundTrips_AndItsFieldsAreTheSigned()
    {
        using var keys = new Keys();
        var create = MembershipLog.SignCreate(keys.Member, Conversation, [Third, Remote, Remote], collective: true);
        var parsed = MembershipStatement.Parse(create.ToBytes());
        Assert.Equal((Conversation, 0L, Member, MembershipOperation.Create, Member, true), (parsed.ConversationId, parsed.Index, parsed.Actor, parsed.Operation, parsed.Creator, parsed.Collective));
        Assert.Equal(3, parsed.Members.Count);
        Assert.True(parsed.SameAs(create));
        Assert.True(parsed.VerifiesUnder(keys.Member.PublicKey));
        Assert.False(parsed.VerifiesUnder(keys.Remote.PublicKey));
    }

    [Fact]
    public void AMalformedStatement_IsRefusedByItsShape()
    {
        using var keys = new Keys();
        var bytes = MembershipLog.SignCreate(keys.Member, Conversation, [Remote], collective: false).ToBytes();
        Assert.Throws<MalformedMessageException>(() => MembershipStatement.Parse(bytes.AsSpan(0, bytes.Length - 1)));
        Assert.Throws<MalformedMessageException>(() => MembershipStatement.Parse([0x02, .. bytes.AsSpan(1)]));

        var unknownOperation = bytes.ToArray();
        unknownOperation[1 + 16 + 8 + 32 + 16] = 9;
        Assert.Throws<MalformedMessageException>(() => MembershipStatement.Parse(unknownOperation));

        // The two members listed in the wrong order (the encoding is canonical: sorted by bytes).
        var unsorted = bytes.ToArray();
        var first = unsorted.AsSpan(MembershipStatement.FixedLength - 64, 16).ToArray();
        unsorted.AsSpan(MembershipStatement.FixedLength - 64 + 16, 16).CopyTo(unsorted.AsSpan(MembershipStatement.FixedLength - 64));
        first.CopyTo(unsorted.AsSpan(MembershipStatement.FixedLength - 64 + 16));
        Assert.Throws<MalformedMessageException>(() => MembershipStatement.Parse(unsorted));

        // Add names exactly one member, with no creator.
        Assert.Throws<ArgumentException>(() => keys.Member.SignMembership(Conversation, 1, new byte[32], MembershipOperation.Add, Guid.Empty, false, [Remote, Third]));
        Assert.Throws<ArgumentException>(() => keys.Member.SignMembership(Conversation, 1, new byte[32], MembershipOperation.Add, Member, false, [Remote]));
    }

    [Fact]
    public void ALegitimateHistory_Verifies_AndLeadsToItsMembers()
    {
        using var keys = new Keys();
        var create = MembershipLog.SignCreate(keys.Member, Conversation, [Remote], collective: false);
        var log = MembershipLog.Empty(Conversation).Append(create);
        var add = log.SignChange(keys.Remote, MembershipOperation.Add, Third);
        log = log.Append(add);
        var leaves = log.SignChange(keys.Third, MembershipOperation.Remove, Third);
        log = log.Append(leaves);
        var readd = log.SignChange(keys.Member, MembershipOperation.Add, Third);
        log = log.Append(readd);
        var creatorRemoves = log.SignChange(keys.Member, MembershipOperation.Remove, Remote);

        var verified = Verify(keys, create, add, leaves, readd, creatorRemoves);
        Assert.Equal(new HashSet<Guid> { Member, Third }, verified.Members.ToHashSet());
        Assert.Equal(5, verified.NextIndex);
    }

    [Fact]
    public void EachRule_RefusesTheStatementThatBreaksIt()
    {
        using var keys = new Keys();
        var empty = MembershipLog.Empty(Conversation);
        var create = MembershipLog.SignCreate(keys.Member, Conversation, [Remote], collective: false);
        var log = empty.Append(create);

        // A creation signed by someone else than the creator it names, or by a creator not among the members.
        Assert.Throws<MembershipStatementRejectedException>(() => empty.Append(keys.Remote.SignMembership(Conversation, 0, new byte[32], MembershipOperation.Create, Member, false, [Member, Remote])));
        Assert.Throws<MembershipStatementRejectedException>(() => empty.Append(keys.Member.SignMembership(Conversation, 0, new byte[32], MembershipOperation.Create, Member, false, [Remote])));

        // An add or remove as the first statement, a second creation, a legacy snapshot after the creation.
        Assert.Throws<MembershipStatementRejectedException>(() => empty.Append(empty.SignChange(keys.Member, MembershipOperation.Add, Third)));
        Assert.Throws<MembershipStatementRejectedException>(() => log.Append(keys.Member.SignMembership(Conversation, 1, create.Hash(), MembershipOperation.Create, Member, false, [Member, Third])));
        Assert.Throws<MembershipStatementRejectedException>(() => log.Append(log.SignLegacySnapshot(keys.Member, Member, false, [Member, Remote, Third])));

        // Another conversation, a wrong index, a wrong previous hash.
        Assert.Throws<MembershipStatementRejectedException>(() => MembershipLog.Empty(Guid.NewGuid()).Append(create));
        Assert.Throws<MembershipStatementRejectedException>(() => log.Append(keys.Member.SignMembership(Conversation, 2, create.Hash(), MembershipOperation.Add, Guid.Empty, false, [Third])));
        Assert.Throws<MembershipStatementRejectedException>(() => log.Append(keys.Member.SignMembership(Conversation, 1, new byte[32], MembershipOperation.Add, Guid.Empty, false, [Third])));

        // An add by a non-member, an add of a member, a remove of a non-member, a remove of another by a non-creator.
        Assert.Throws<MembershipStatementRejectedException>(() => log.Append(log.SignChange(keys.Third, MembershipOperation.Add, Third)));
        Assert.Throws<MembershipStatementRejectedException>(() => log.Append(log.SignChange(keys.Member, MembershipOperation.Add, Remote)));
        Assert.Throws<MembershipStatementRejectedException>(() => log.Append(log.SignChange(keys.Member, MembershipOperation.Remove, Third)));
        Assert.Throws<MembershipStatementRejectedException>(() => log.Append(log.SignChange(keys.Remote, MembershipOperation.Remove, Member)));
    }

    [Fact]
    public void Verification_RefusesAStatementNotSignedByAKeyTrustedForItsActor()
    {
        using var keys = new Keys();
        var create = MembershipLog.SignCreate(keys.Member, Conversation, [Remote], collective: false);
        var log = MembershipLog.Empty(Conversation).Append(create);
        using var forged = MemberSigningKey.Generate(Remote);
        var add = log.SignChange(forged, MembershipOperation.Add, Third);

        var refused = Assert.Throws<MembershipStatementRejectedException>(() => Verify(keys, create, add));
        Assert.Equal(1, refused.Index);

        // A key trusted for the actor verifies it; the same bytes with one bit of the signature flipped do not.
        Assert.Equal(2, MembershipLog.Verify(Conversation, [create.ToBytes(), add.ToBytes()], m => m == Remote ? [forged.PublicKey] : keys.Trusted(m)).NextIndex);
        var flipped = add.ToBytes();
        flipped[^1] ^= 1;
        Assert.Throws<MembershipStatementRejectedException>(() => MembershipLog.Verify(Conversation, [create.ToBytes(), flipped], m => m == Remote ? [forged.PublicKey] : keys.Trusted(m)));
        Assert.Throws<MembershipStatementRejectedException>(() => MembershipLog.Verify(Conversation, [create.ToBytes(), [1, 2, 3]], keys.Trusted));
    }

    [Fact]
    public void ALegacySnapshot_NamesTheCreator_AndIsSignedByAMemberItLists()
    {
        using var keys = new Keys();
        var empty = MembershipLog.Empty(Conversation);
        var snapshot = empty.SignLegacySnapshot(keys.Remote, Member, collective: true, [Member, Remote]);
        var log = Verify(keys, snapshot);
        Assert.Equal((Member, true), (log.Creator, log.Collective));

        // The creator named by the snapshot may remove others; the snapshotter may not.
        Assert.Equal(2, log.Append(log.SignChange(keys.Member, MembershipOperation.Remove, Remote)).NextIndex);
        Assert.Throws<MembershipStatementRejectedException>(() => log.Append(log.SignChange(keys.Remote, MembershipOperation.Remove, Member)));
        Assert.Throws<MembershipStatementRejectedException>(() => empty.Append(empty.SignLegacySnapshot(keys.Third, Member, false, [Member, Remote])));
    }
}
