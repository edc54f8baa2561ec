import Testing
@testable import ConclaveConsole

@Suite struct FrameTests {
    @Test("text is clipped at the right edge and at maxX, and a clipped text ends with …")
    func clipping() {
        var frame = Frame(size: Size(width: 6, height: 2))
        let end = frame.put("abcdefgh", x: 2, y: 0)
        #expect(frame.line(0) == "  abc…")
        #expect(end == 6)
        frame.put("xyz", x: 0, y: 1, maxX: 2)
        #expect(frame.line(1) == "x…    ")
        frame.put("off", x: 0, y: 5)
        #expect(frame.text == "  abc…\nx…    ")
        frame.put("abcd", x: 2, y: 1)
        #expect(frame.line(1) == "x…abcd", "text that fits exactly is whole")
        frame.put("ab   ", x: 0, y: 0, maxX: 3)
        #expect(frame.line(0) == "ab bc…", "only padding cut off: no mark")
    }

    @Test("a wide glyph takes two cells and never straddles the edge")
    func wideGlyphs() {
        var frame = Frame(size: Size(width: 5, height: 1))
        frame.put("a漢b", x: 0, y: 0)
        #expect(frame[1, 0].scalar == "漢")
        #expect(frame[2, 0].isContinuation)
        #expect(frame.line(0) == "a漢b ")
        var edge = Frame(size: Size(width: 3, height: 1))
        edge.put("ab漢", x: 0, y: 0)
        #expect(edge.line(0) == "a… ", "cut before the wide glyph: marked")
        #expect(TextWidth.columns("漢字ok") == 6)
        #expect(TextWidth.pad("漢字ok", 5) == "漢字…")
    }

    @Test("frames are bounded by sizeMax")
    func bounded() {
        let frame = Frame(size: Size(width: 5_000, height: 5_000))
        #expect(frame.width == Frame.sizeMax.width)
        #expect(frame.height == Frame.sizeMax.height)
    }

    @Test("the diff holds only changed runs; a size change repaints everything")
    func diff() {
        var old = Frame(size: Size(width: 10, height: 3))
        old.put("hello", x: 0, y: 0)
        var new = old
        new.put("J", x: 0, y: 0)
        new.put("!!", x: 7, y: 2)
        let diff = FrameDiff(from: old, to: new)
        #expect(!diff.isFullRepaint)
        #expect(diff.runs.map(\.x) == [0, 7])
        #expect(diff.runs.map(\.y) == [0, 2])
        #expect(diff.changedCells == 3)
        #expect(FrameDiff(from: new, to: new).runs.isEmpty)
        let resized = FrameDiff(from: old, to: Frame(size: Size(width: 4, height: 2)))
        #expect(resized.isFullRepaint)
        #expect(resized.changedCells == 8)
        #expect(FrameDiff(from: nil, to: old).changedCells == 30)
    }

    @Test("a changed wide glyph is repainted from its first cell")
    func diffWide() {
        var old = Frame(size: Size(width: 6, height: 1))
        old.put("ab漢", x: 0, y: 0)
        var new = Frame(size: Size(width: 6, height: 1))
        new.put("ab字", x: 0, y: 0)
        let diff = FrameDiff(from: old, to: new)
        #expect(diff.runs.count == 1)
        #expect(diff.runs[0].x == 2)
        #expect(diff.runs[0].cells.count == 2)
    }
}
