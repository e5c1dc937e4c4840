import { describe, expect, it } from 'vitest';
import { looksPhpSerialized, PhpSyntaxError, phpUnserialize } from './php-serialize.ts';

describe('phpUnserialize', () => {
  it("reads Moodle's serialized `other` fields", () => {
    expect(phpUnserialize('a:1:{s:4:"name";s:10:"test event";}')).toEqual({ name: 'test event' });
    expect(phpUnserialize('a:3:{s:10:"finalgrade";d:7.5;s:8:"grademax";i:10;s:6:"hidden";b:0;}')).toEqual({
      finalgrade: 7.5,
      grademax: 10,
      hidden: false,
    });
    expect(phpUnserialize('a:2:{i:0;s:1:"x";i:1;N;}')).toEqual(['x', null]);
    expect(phpUnserialize('N;')).toBeNull();
    // Lengths count UTF-8 bytes: "é" is 2.
    expect(phpUnserialize('s:6:"café!";')).toBe('café!');
    expect(phpUnserialize('O:8:"stdClass":1:{s:3:"cmi";a:0:{}}')).toEqual({ cmi: [] });
  });

  it('refuses malformed input with where it broke', () => {
    for (const bad of ['a:1:{s:4:"name";}', 's:99:"short";', 'x:1;', 'a:1:{s:1:"a";i:1;}junk', 'i:one;']) {
      expect(() => phpUnserialize(bad), bad).toThrow(PhpSyntaxError);
    }
  });

  it('tells serialized text from prose', () => {
    expect(looksPhpSerialized('a:0:{}')).toBe(true);
    expect(looksPhpSerialized('N;')).toBe(true);
    expect(looksPhpSerialized('a short note')).toBe(false);
    expect(looksPhpSerialized('{"json": true}')).toBe(false);
  });
});

describe('Moodle event names', () => {
  it('give component, target and action when the event leaves them out', async () => {
    const { namesOf } = await import('./moodle.ts');
    expect(namesOf('\\mod_assign\\event\\assessable_submitted')).toEqual({
      component: 'mod_assign',
      target: 'assessable',
      action: 'submitted',
    });
    expect(namesOf('\\core\\event\\course_module_viewed')).toEqual({
      component: 'core',
      target: 'course_module',
      action: 'viewed',
    });
    expect(namesOf('\\core\\event\\viewed')).toEqual({
      component: 'core',
      target: 'viewed',
      action: 'viewed',
    });
    expect(namesOf('not an event name')).toBeUndefined();
  });
});
